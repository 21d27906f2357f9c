from eapr_plugin.training.batch_seeds import BatchSeeds
