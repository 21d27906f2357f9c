// PAWSX baseline: see eapr.libsonnet for every EAPR_* setting and its default.
(import "eapr.libsonnet").config(task="pawsx", method="baseline")
