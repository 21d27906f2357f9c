// XNLI with prediction consistency at weight 5, the best recipe of issue #15's screen (README
// "Results", benchmarks/results/accuracy_sib200_screen.json): the two streams' cross-entropy (robust
// targets) plus xTune's example consistency (Zheng et al., ACL 2021), the symmetric KL between the
// original's and the synonym-perturbed copy's predicted label distributions, weight 5 (EAPR_PC_WEIGHT
// overrides it), EAPR_PC_TEMPERATURE 1.0; no Embedding-Push or Attention-Pull. Evidence, SIB-200
// proxy, 5 seeds at 264 optimizer steps each (offline 6-layer E5), non-English average 76.4 ± 0.8:
// − plain fine-tuning +1.51 points [+0.46, +2.57] (95% t, paired by seed), − two-stream CE +1.34
// [−0.78, +3.45] and − weight 1 +0.47 [−0.56, +1.51] (not distinguishable). Weight 1 on reduced
// XNLI (benchmarks/results/accuracy_xnli_equal_steps.json, 5 seeds at 234 steps) did not confirm:
// − plain −1.73 [−6.57, +3.12], − two-stream CE −0.47 [−1.02, +0.07].
// Every EAPR_* setting: eapr.libsonnet.
(import "eapr.libsonnet").config(task="xnli", method="consistency", pc_weight=5.0)
