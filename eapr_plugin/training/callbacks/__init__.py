from eapr_plugin.training.callbacks.batch_seeds import BatchSeeds
