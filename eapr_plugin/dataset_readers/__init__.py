from eapr_plugin.dataset_readers.rows import InvalidRowError, Row
from eapr_plugin.dataset_readers.eapr_reader import EaprReader
from eapr_plugin.dataset_readers.xnli import XnliReader
from eapr_plugin.dataset_readers.pawsx import PawsxReader
from eapr_plugin.dataset_readers.sib200 import Sib200Reader
