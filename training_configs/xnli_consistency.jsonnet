// XNLI with prediction consistency, the variant that beat plain fine-tuning at equal cost on the
// SIB-200 proxy (README "Results", benchmarks/results/accuracy_sib200_screen.json): the two
// streams' cross-entropy (robust targets) plus xTune's example consistency, the symmetric KL between
// the original's and the synonym-perturbed copy's predicted label distributions (EAPR_PC_WEIGHT 1.0,
// EAPR_PC_TEMPERATURE 1.0); no Embedding-Push or Attention-Pull. Evidence so far, 5 seeds at 264
// optimizer steps each (offline 6-layer E5): non-English average 75.95 ± 0.49; − plain fine-tuning
// +1.04 points [+0.73, +1.36] (95% t, paired by seed), − two-stream CE +0.87 [−0.47, +2.20] (not
// distinguishable). On reduced XNLI (benchmarks/results/accuracy_xnli_equal_steps.json, 5 seeds at
// 234 steps) it does not confirm: − plain −1.73 [−6.57, +3.12], − two-stream CE −0.47 [−1.02, +0.07].
// Weight 5 (EAPR_PC_WEIGHT=5; 5 seeds on each proxy, the same steps) was the SIB-200 screen's best
// (+1.51 [+0.46, +2.57] over plain, +0.47 [−0.56, +1.51] over weight 1) but loses on reduced XNLI
// (− two-stream CE −2.63 [−4.14, −1.13]).
// Every EAPR_* setting: eapr.libsonnet.
(import "eapr.libsonnet").config(task="xnli", method="consistency")
