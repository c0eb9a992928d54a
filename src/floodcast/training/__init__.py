"""Training: the Lightning task, losses, callbacks and tuning (see ``train.train``)."""
