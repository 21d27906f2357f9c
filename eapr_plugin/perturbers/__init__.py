from eapr_plugin.perturbers.perturber import Perturber, PieceIds
from eapr_plugin.perturbers.synonym import SynonymPerturber
from eapr_plugin.perturbers.subword_sampling import SubwordSampling
from eapr_plugin.perturbers.chain import Chain
