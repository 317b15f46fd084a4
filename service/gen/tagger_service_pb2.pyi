from google.rpc import status_pb2 as _status_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Paragraph(_message.Message):
    __slots__ = ("id", "text")
    ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    id: str
    text: str
    def __init__(self, id: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class TagOptions(_message.Message):
    __slots__ = ("threshold", "top_k", "explain_terms")
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    EXPLAIN_TERMS_FIELD_NUMBER: _ClassVar[int]
    threshold: float
    top_k: int
    explain_terms: int
    def __init__(self, threshold: _Optional[float] = ..., top_k: _Optional[int] = ..., explain_terms: _Optional[int] = ...) -> None: ...

class TagParagraphsRequest(_message.Message):
    __slots__ = ("paragraphs", "options")
    PARAGRAPHS_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    paragraphs: _containers.RepeatedCompositeFieldContainer[Paragraph]
    options: TagOptions
    def __init__(self, paragraphs: _Optional[_Iterable[_Union[Paragraph, _Mapping]]] = ..., options: _Optional[_Union[TagOptions, _Mapping]] = ...) -> None: ...

class TagParagraphsResponse(_message.Message):
    __slots__ = ("results", "model_version")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ParagraphTags]
    model_version: str
    def __init__(self, results: _Optional[_Iterable[_Union[ParagraphTags, _Mapping]]] = ..., model_version: _Optional[str] = ...) -> None: ...

class ParagraphTags(_message.Message):
    __slots__ = ("id", "labels", "scores")
    ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    id: str
    labels: _containers.RepeatedScalarFieldContainer[str]
    scores: _containers.RepeatedCompositeFieldContainer[LabelScore]
    def __init__(self, id: _Optional[str] = ..., labels: _Optional[_Iterable[str]] = ..., scores: _Optional[_Iterable[_Union[LabelScore, _Mapping]]] = ...) -> None: ...

class LabelScore(_message.Message):
    __slots__ = ("label", "score", "threshold", "assigned", "evidence")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    label: str
    score: float
    threshold: float
    assigned: bool
    evidence: _containers.RepeatedCompositeFieldContainer[TermWeight]
    def __init__(self, label: _Optional[str] = ..., score: _Optional[float] = ..., threshold: _Optional[float] = ..., assigned: _Optional[bool] = ..., evidence: _Optional[_Iterable[_Union[TermWeight, _Mapping]]] = ...) -> None: ...

class TermWeight(_message.Message):
    __slots__ = ("term", "weight")
    TERM_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    term: str
    weight: float
    def __init__(self, term: _Optional[str] = ..., weight: _Optional[float] = ...) -> None: ...

class StreamTagParagraphsRequest(_message.Message):
    __slots__ = ("paragraph", "options")
    PARAGRAPH_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    paragraph: Paragraph
    options: TagOptions
    def __init__(self, paragraph: _Optional[_Union[Paragraph, _Mapping]] = ..., options: _Optional[_Union[TagOptions, _Mapping]] = ...) -> None: ...

class StreamTagParagraphsResponse(_message.Message):
    __slots__ = ("result", "model_version", "error")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    result: ParagraphTags
    model_version: str
    error: _status_pb2.Status
    def __init__(self, result: _Optional[_Union[ParagraphTags, _Mapping]] = ..., model_version: _Optional[str] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...

class TagDocumentRequest(_message.Message):
    __slots__ = ("text", "options", "context_weight")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    text: str
    options: TagOptions
    context_weight: float
    def __init__(self, text: _Optional[str] = ..., options: _Optional[_Union[TagOptions, _Mapping]] = ..., context_weight: _Optional[float] = ...) -> None: ...

class TagDocumentResponse(_message.Message):
    __slots__ = ("paragraphs", "document_labels", "document_scores", "model_version")
    PARAGRAPHS_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_LABELS_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_SCORES_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    paragraphs: _containers.RepeatedCompositeFieldContainer[ParagraphTags]
    document_labels: _containers.RepeatedScalarFieldContainer[str]
    document_scores: _containers.RepeatedCompositeFieldContainer[LabelScore]
    model_version: str
    def __init__(self, paragraphs: _Optional[_Iterable[_Union[ParagraphTags, _Mapping]]] = ..., document_labels: _Optional[_Iterable[str]] = ..., document_scores: _Optional[_Iterable[_Union[LabelScore, _Mapping]]] = ..., model_version: _Optional[str] = ...) -> None: ...

class GetModelRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetModelResponse(_message.Message):
    __slots__ = ("model_version", "labels", "thresholds", "created", "data_sha256", "metrics", "limits")
    class ThresholdsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    DATA_SHA256_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    model_version: str
    labels: _containers.RepeatedScalarFieldContainer[str]
    thresholds: _containers.ScalarMap[str, float]
    created: str
    data_sha256: str
    metrics: _containers.ScalarMap[str, float]
    limits: Limits
    def __init__(self, model_version: _Optional[str] = ..., labels: _Optional[_Iterable[str]] = ..., thresholds: _Optional[_Mapping[str, float]] = ..., created: _Optional[str] = ..., data_sha256: _Optional[str] = ..., metrics: _Optional[_Mapping[str, float]] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ...) -> None: ...

class Limits(_message.Message):
    __slots__ = ("max_text_chars", "max_paragraphs", "max_document_chars", "max_explain_terms")
    MAX_TEXT_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_PARAGRAPHS_FIELD_NUMBER: _ClassVar[int]
    MAX_DOCUMENT_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_EXPLAIN_TERMS_FIELD_NUMBER: _ClassVar[int]
    max_text_chars: int
    max_paragraphs: int
    max_document_chars: int
    max_explain_terms: int
    def __init__(self, max_text_chars: _Optional[int] = ..., max_paragraphs: _Optional[int] = ..., max_document_chars: _Optional[int] = ..., max_explain_terms: _Optional[int] = ...) -> None: ...
