from eapr_plugin.perturbers.perturber import Perturber
from eapr_plugin.perturbers.synonym import SynonymPerturber
