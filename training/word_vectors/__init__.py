"""Word vectors that lend the linear model pretrained knowledge at training time: a committed table of common
English words with small vectors from a sentence encoder (`python -m training.word_vectors` writes it). Serving
never reads it: training folds it into one more weight per term and label (training.estimator)."""
