// Any task × method, chosen by EAPR_TASK (xnli, pawsx, sib200, chatterbot) and EAPR_METHOD (eapr, baseline,
// rsda, eapr_no_push, eapr_no_pull, eapr_no_rt); used by the benchmarks. See eapr.libsonnet.
local lib = import "eapr.libsonnet";
local pick(name, default) = local v = std.extVar(name); if v == "" then default else v;
lib.config(task=pick("EAPR_TASK", "xnli"), method=pick("EAPR_METHOD", "eapr"))
