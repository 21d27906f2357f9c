// Any task × method, chosen by EAPR_TASK and EAPR_METHOD (default xnli and eapr; the lists are
// eapr.libsonnet's `tasks` and `methods`, which name the valid ones on a typo); used by the benchmarks.
local lib = import "eapr.libsonnet";
local pick(name, default) = local v = std.extVar(name); if v == "" then default else v;
lib.config(task=pick("EAPR_TASK", "xnli"), method=pick("EAPR_METHOD", "eapr"))
