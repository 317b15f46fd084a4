"""The gRPC API: servicer, proto <-> domain converters, status codes, server construction and lifecycle. The only
package of the server that imports grpc."""
