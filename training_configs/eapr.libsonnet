// Shared recipe of eapr_plugin. Each training_configs/*.jsonnet picks a task and a method:
//   (import "eapr.libsonnet").config(task="xnli", method="eapr")
//
// Every setting below can be changed with an environment variable (AllenNLP passes the
// environment to jsonnet as extVars). An empty or unset variable means "the paper's default"
// (eapr_plugin registers every EAPR_* name with an empty value when it is imported, so unset
// variables are allowed). Defaults = the authors' setup (../shared/docs/method.md):
//
//   EAPR_ENCODER            bert-base-multilingual-cased   (or xlm-roberta-base, or a local folder)
//   EAPR_HEAD               roberta if the encoder's name holds "roberta"/"xlm-r"/"xlmr", else bert_pooler
//                           (or mean_pool); a local RoBERTa-type folder with another name needs roberta
//   EAPR_TRAIN_DATA         task default (HF English train split)
//   EAPR_DEV_DATA           task default (HF English validation split: English-dev selection)
//   EAPR_TRAIN_START/_END   row range of the training data (empty: all rows)
//   EAPR_DEV_START/_END     row range of the dev data (empty: all rows)
//   EAPR_SYNONYMS           the counter-fitted synonym table (path or URL)
//   EAPR_PERTURBER          synonym (the paper's); subword_sampling; synonym+subword_sampling
//   EAPR_SAMPLING_ALPHA     0.1  (unigram sampling smoothing, XLM-R-type tokenizers)
//   EAPR_SAMPLING_DROPOUT   0.1  (WordPiece longest-match dropout, BERT-type tokenizers)
//   EAPR_SHARED_PAIR_SWAPS  false (true: a pair's second text reuses the first's synonym for every word
//                           they share; the paper perturbs the two independently)
//   EAPR_NUM_PERTURBATIONS  3 (copies per English example)
//   EAPR_ALPHA              0.1  (Embedding-Push weight)
//   EAPR_BETA               1.0  (Attention-Pull weight)
//   EAPR_LAYER              5    (Attention-Pull layer, 0-based)
//   EAPR_PC_WEIGHT          1.0  (prediction-consistency weight; methods consistency, eapr_consistency)
//   EAPR_PERTURBED_CE_WEIGHT 1.0 (weight of the task CE on the perturbed copies; 0 with EAPR_PC_TARGET=original:
//                           UDA's objective on labelled pairs)
//   EAPR_BALANCE            unset (e.g. "embedding_push=0.1,attention_pull=0.1": balanced weights)
//   EAPR_BALANCE_BATCHES    8    (batches the balance is measured on before it is frozen)
//   EAPR_RAMP_UP            unset (e.g. "prediction_consistency=100": that term's weight ramps up as
//                           exp(-5 (1 - t)^2) over the first 100 training batches; see the model's `ramp_up`)
//   EAPR_PC_TEMPERATURE     1.0  (its softmax temperature)
//   EAPR_PC_TARGET          both (symmetric KL, xTune; or original: KL(sg(p) ‖ q), UDA: only the perturbed
//                           stream is moved toward the original stream's prediction)
//   EAPR_FREEZE             unset: nothing frozen, or the recipe's own list (xnli_frozen_lower.jsonnet); comma-separated
//                           regexes over parameter names kept at their pretrained values, e.g. "embeddings" for the
//                           encoder's embedding layer (see the model's `freeze`); "none": nothing frozen
//   EAPR_AP_MODE            exact (or masked: dynamic padding, faster, not the paper's value)
//   EAPR_MAX_LENGTH         128
//   EAPR_LR                 2e-5
//   EAPR_LAYER_LR_DECAY     1.0  (in (0, 1]: encoder layer i of L learns at EAPR_LR x decay^(L-1-i), the
//                           embeddings at x decay^L; layer-wise decay, a deviation; see fused_adamw)
//   EAPR_BATCH_SIZE         8    (pairs per step)
//   EAPR_GRAD_ACCUM         4    (steps per update: 32 pairs per update)
//   EAPR_EPOCHS             task default (1 for XNLI, 30 for PAWS-X as the release's scripts)
//   EAPR_SEED               7
//   EAPR_SELECTION          english_dev (the weights kept: the best epoch on English dev; or last: the
//                           final epoch's; or average: the uniform average of the last EAPR_AVERAGE_LAST epochs')
//   EAPR_AVERAGE_LAST       3    (epochs averaged by EAPR_SELECTION=average)
//   EAPR_EPOCH_EVAL         unset (e.g. "dev=data/*/dev.tsv;test=data/*/test.tsv": after every epoch, per-language
//                           accuracy on those inputs into language_curves.jsonl, for target-language "oracle" selection)
//   EAPR_AMP                false (mixed precision, GPU only)
//   EAPR_BUCKET             false (true: training batches of similar length; `--recover` stays exact)
//   EAPR_NUM_GPUS           unset: the first GPU if there is one, else the CPU; 0: CPU; 1: GPU 0;
//                           >1: AllenNLP distributed training, one worker per GPU
//   EAPR_CPU_WORKERS        0    (with EAPR_NUM_GPUS=0: >1 runs that many gloo CPU workers)
//   EAPR_FIND_UNUSED        false (DDP find_unused_parameters)

local ext(name, default) =
  local value = std.extVar(name);
  if value == "" then default else value;
local num(name, default) = std.parseJson(ext(name, std.toString(default)));
local optional_num(name) =
  local value = std.extVar(name);
  if value == "" then null else std.parseJson(value);

// EAPR_EPOCH_EVAL="NAME=INPUT,INPUT;NAME=...": groups of labelled inputs scored after every epoch
local epoch_eval =
  local value = std.extVar("EAPR_EPOCH_EVAL");
  if value == "" then null else {
    [std.splitLimit(group, "=", 1)[0]]: std.split(std.splitLimit(group, "=", 1)[1], ",")
    for group in std.split(value, ";")
  };

local default_synonyms =
  "https://raw.githubusercontent.com/uclanlp/Robust-XLT/main/data/counterfitted_neighbors.json";

local tasks = {
  xnli: {
    reader: "xnli",
    train: "hf:facebook/xnli:en:train",  // MultiNLI, 392,702 English pairs
    dev: "hf:facebook/xnli:en:validation",
    epochs: 1,
  },
  pawsx: {
    reader: "pawsx",
    train: "hf:google-research-datasets/paws-x:en:train",
    dev: "hf:google-research-datasets/paws-x:en:validation",
    epochs: 30,
  },
  sib200: {
    reader: "sib200",
    train: "hf:Davlan/sib200:eng_Latn:train",
    dev: "hf:Davlan/sib200:eng_Latn:validation",
    epochs: 3,
  },
  // `make demo`: chatterbot-corpus topics in the SIB-200 layout (eapr_plugin/demo_task.py)
  chatterbot: {
    reader: "sib200",
    labels: ["ai", "emotion", "food", "history", "literature", "money", "movies", "politics",
             "psychology", "science", "sports"],
    train: "runs/demo/data/en/train.tsv",
    dev: "runs/demo/data/en/dev.tsv",
    epochs: 3,
  },
};

local alpha = num("EAPR_ALPHA", 0.1);
local beta = num("EAPR_BETA", 1.0);
local max_length = num("EAPR_MAX_LENGTH", 128);
local pull(weight) = {
  type: "attention_pull",
  weight: weight,
  layer: num("EAPR_LAYER", 5),
  mode: ext("EAPR_AP_MODE", "exact"),
  max_length: max_length,
};

// The classification heads of the authors' release, composed from AllenNLP components as
// basic_classifier composes its head (the model passes each the encoder's hidden size and name).
// Dropout 0.1 and init N(0, 0.02) are mBERT's / XLM-R's `hidden_dropout_prob` / `initializer_range`.
local head_dropout = 0.1;
local heads = {
  // BERT-type (mBERT): pooler (tanh dense on [CLS]) -> dropout -> linear
  bert_pooler: { seq2vec_encoder: { type: "bert_pooler" }, dropout: head_dropout },
  // RoBERTa-type (XLM-R): dropout on the sequence output (the release's extra dropout), then HF's
  // RobertaClassificationHead: first token -> dropout -> dense -> tanh -> dropout -> linear
  roberta: {
    sequence_dropout: head_dropout,
    seq2vec_encoder: { type: "cls_pooler" },
    dropout: head_dropout,
    feedforward: { num_layers: 1, activations: "tanh", dropout: head_dropout },
  },
  // mean of the last layer over real tokens -> dropout -> linear (for encoders without a trained
  // pooler, such as multilingual-E5)
  mean_pool: { seq2vec_encoder: { type: "boe", averaged: true }, dropout: head_dropout },
};
local head_init = {
  regexes: [
    ["_classification_layer.weight|_feedforward._linear_layers.*weight", { type: "normal", std: 0.02 }],
    ["_classification_layer.bias|_feedforward._linear_layers.*bias", { type: "zero" }],
  ],
};
local default_head(encoder) =
  local name = std.asciiLower(encoder);
  if std.length(std.findSubstr("roberta", name)) + std.length(std.findSubstr("xlm-r", name))
     + std.length(std.findSubstr("xlmr", name)) > 0 then "roberta" else "bert_pooler";

// "NAME=NUMBER,NAME=NUMBER" (EAPR_BALANCE, EAPR_RAMP_UP) -> {NAME: NUMBER}; unset -> null
local name_values(var) =
  local value = std.extVar(var);
  if value == "" then null
  else {
    [std.split(pair, "=")[0]]:
      assert std.length(std.split(pair, "=")) == 2 : var + "=" + value + ": expected NAME=NUMBER[,NAME=NUMBER...]";
      std.parseJson(std.split(pair, "=")[1])
    for pair in std.split(value, ",")
  };

// "embedding_push=0.1,attention_pull=0.1": balanced weights (a deviation from the paper; see the
// model's `balance`): each named term's encoder gradient = share × the task CE's, frozen after
// EAPR_BALANCE_BATCHES batches
local balance = name_values("EAPR_BALANCE");

// "prediction_consistency=100": a term's weight ramped up over that many training batches (a
// deviation from the paper; see the model's `ramp_up`)
local ramp_up = name_values("EAPR_RAMP_UP");

// "embeddings,encoder\\.layer\\.0\\." -> those parameters frozen (a deviation from the paper, which
// fine-tunes all; see the model's `freeze`); unset -> the recipe's `frozen` (none but in a recipe that
// freezes); "none" -> nothing frozen
local freeze_patterns(default) =
  local value = std.extVar("EAPR_FREEZE");
  if value == "" then default else if value == "none" then null else std.split(value, ",");

// EAPR_PERTURBER: the paper's synonyms; subword sampling of the encoder's own tokenizer (no table,
// any language); or synonyms, then subword sampling
local perturbers(encoder) = {
  local synonym = { type: "synonym", table: ext("EAPR_SYNONYMS", default_synonyms),
                    shared_pair_swaps: num("EAPR_SHARED_PAIR_SWAPS", false) },
  local sampling = { type: "subword_sampling", model_name: encoder, alpha: num("EAPR_SAMPLING_ALPHA", 0.1),
                     dropout: num("EAPR_SAMPLING_DROPOUT", 0.1) },
  synonym: synonym,
  subword_sampling: sampling,
  "synonym+subword_sampling": { type: "chain", perturbers: [synonym, sampling] },
};

// EAPR_PC_TARGET is checked against the term's own list where the plugin reads the environment
// (eapr_plugin/common/config_env.py)
local consistency = {
  type: "prediction_consistency",
  weight: num("EAPR_PC_WEIGHT", 1.0),
  temperature: num("EAPR_PC_TEMPERATURE", 1.0),
  target: ext("EAPR_PC_TARGET", "both"),
};

// method -> (perturbed training pairs?, loss terms)
local methods = {
  baseline: { perturb: false, terms: [] },  // plain fine-tuning on the English data
  rsda: { perturb: true, terms: [] },  // RS-DA: fine-tuning on the perturbed copies only
  // the two streams' CE only (robust targets on, no Embedding-Push / Attention-Pull): EAPR at α = β = 0
  two_stream_ce: { perturb: true, terms: [{ type: "robust_targets", weight: 1.0 }] },
  // beyond the paper: xTune's prediction consistency beside the two streams' CE, and beside EAPR
  consistency: { perturb: true, terms: [{ type: "robust_targets", weight: 1.0 }, consistency] },
  eapr_consistency: {
    perturb: true,
    terms: [{ type: "robust_targets", weight: 1.0 }, { type: "embedding_push", weight: alpha }, pull(beta), consistency],
  },
  eapr: {
    perturb: true,
    terms: [
      { type: "robust_targets", weight: 1.0 },
      { type: "embedding_push", weight: alpha },
      pull(beta),
    ],
  },
  // ablations keep the dropped term at weight 0, so its value is still logged
  eapr_no_push: { perturb: true, terms: [{ type: "robust_targets", weight: 1.0 }, { type: "embedding_push", weight: 0.0 }, pull(beta)] },
  eapr_no_pull: { perturb: true, terms: [{ type: "robust_targets", weight: 1.0 }, { type: "embedding_push", weight: alpha }, pull(0.0)] },
  eapr_no_rt: { perturb: true, terms: [{ type: "robust_targets", weight: 0.0 }, { type: "embedding_push", weight: alpha }, pull(beta)] },
};

{
  tasks:: tasks,
  methods:: methods,
  heads:: heads,

  // frozen: the recipe's default list of `freeze` patterns (EAPR_FREEZE overrides it)
  config(task, method, frozen=null)::
    assert std.objectHas(tasks, task) : "unknown task " + task + "; one of " + std.join(", ", std.objectFields(tasks));
    assert std.objectHas(methods, method) : "unknown method " + method + "; one of " + std.join(", ", std.objectFields(methods));
    local t = tasks[task];
    local m = methods[method];
    local encoder = ext("EAPR_ENCODER", "bert-base-multilingual-cased");
    local head = ext("EAPR_HEAD", default_head(encoder));
    local perturber = ext("EAPR_PERTURBER", "synonym");
    assert std.objectHas(perturbers(encoder), perturber) : "EAPR_PERTURBER=" + perturber + " is not a perturber; one of " + std.join(", ", std.objectFields(perturbers(encoder)));
    assert std.objectHas(heads, head) : "EAPR_HEAD=" + head + " is not a head; one of " + std.join(", ", std.objectFields(heads));
    local freeze = freeze_patterns(frozen);
    local seed = num("EAPR_SEED", 7);
    local num_gpus = optional_num("EAPR_NUM_GPUS");
    local cpu_workers = num("EAPR_CPU_WORKERS", 0);
    local tokenizer = { type: "eapr_pretrained_transformer", model_name: encoder, max_length: max_length };
    local indexers = { tokens: { type: "pretrained_transformer", model_name: encoder, namespace: "tags" } };
    local distributed_devices =
      if num_gpus != null && num_gpus > 1 then std.range(0, num_gpus - 1)
      else if (num_gpus == null || num_gpus == 0) && cpu_workers > 1 then std.makeArray(cpu_workers, function(i) -1)
      else null;
    {
      dataset_reader: {
        type: t.reader,
        tokenizer: tokenizer,
        token_indexers: indexers,
        [if std.objectHas(t, "labels") then "labels"]: t.labels,
        [if m.perturb then "perturber"]: perturbers(encoder)[perturber],
        num_perturbations: if m.perturb then num("EAPR_NUM_PERTURBATIONS", 3) else 0,
        // distributed training: every worker the same number of rows (else AllenNLP's trainer can
        // hang under gradient accumulation; see the reader's `equal_shards`)
        equal_shards: true,
        seed: seed,
        start: optional_num("EAPR_TRAIN_START"),
        end: optional_num("EAPR_TRAIN_END"),
      },
      validation_dataset_reader: {
        type: t.reader,
        tokenizer: tokenizer,
        token_indexers: indexers,
        [if std.objectHas(t, "labels") then "labels"]: t.labels,
        start: optional_num("EAPR_DEV_START"),
        end: optional_num("EAPR_DEV_END"),
      },
      train_data_path: ext("EAPR_TRAIN_DATA", t.train),
      validation_data_path: ext("EAPR_DEV_DATA", t.dev),
      model: {
        type: "eapr_classifier",
        text_field_embedder: {
          token_embedders: { tokens: { type: "pretrained_transformer", model_name: encoder } },
        },
        loss_terms: m.terms,
        perturbed_ce_weight: num("EAPR_PERTURBED_CE_WEIGHT", 1.0),
        [if balance != null then "balance"]: balance,
        [if balance != null then "balance_batches"]: num("EAPR_BALANCE_BATCHES", 8),
        [if ramp_up != null then "ramp_up"]: ramp_up,
        [if freeze != null then "freeze"]: freeze,
        initializer: head_init,
      } + heads[head],
      // EAPR_BUCKET=true: batches of similar length (AllenNLP's bucket sampler, shuffled batches),
      // less padding per step; off by default (the release batches in file order, shuffled)
      data_loader: if num("EAPR_BUCKET", false) then {
        batch_sampler: { type: "bucket", batch_size: num("EAPR_BATCH_SIZE", 8), sorting_keys: ["tokens"] },
      } else { batch_size: num("EAPR_BATCH_SIZE", 8), shuffle: true },
      // Not bucketed by length: AllenNLP's BucketBatchSampler draws from Python's RNG even with no
      // noise, which shifts the next epoch's shuffle, so a run resumed after a kill would differ.
      validation_data_loader: { batch_size: 64, shuffle: false },
      trainer: {
        num_epochs: num("EAPR_EPOCHS", t.epochs),
        validation_metric: "+accuracy",  // English dev; EAPR_SELECTION can keep other weights
        num_gradient_accumulation_steps: num("EAPR_GRAD_ACCUM", 4),
        grad_norm: 1.0,
        optimizer: {  // torch AdamW = the release's transformers AdamW with bias correction, fused kernel
          type: "fused_adamw",
          lr: num("EAPR_LR", 2e-5),
          eps: 1e-8,
          weight_decay: 0.0,
          layer_lr_decay: num("EAPR_LAYER_LR_DECAY", 1.0),
        },
        learning_rate_scheduler: { type: "linear_with_warmup", warmup_steps: 0 },
        use_amp: num("EAPR_AMP", false),
        // dropout seeded per batch position: `--recover` after a kill continues bit for bit;
        // the encoder's config and tokenizer go into the archive, so it loads on other machines;
        // each epoch's optimizer steps and dev metrics go to run_record.jsonl, and whether the run
        // finished to run_status.json; the selection decides which epoch's weights (or which
        // average) the archive holds
        callbacks: [
          { type: "eapr_batch_seeds", seed: seed },
          { type: "eapr_encoder_files" },
          { type: "eapr_model_selection", selection: ext("EAPR_SELECTION", "english_dev"), average_last: num("EAPR_AVERAGE_LAST", 3) },
          // after the selection: a selection that fails at the end leaves the run unfinished
          { type: "eapr_run_record" },
        ] + (if epoch_eval == null then [] else [{ type: "eapr_epoch_evaluation", inputs: epoch_eval }]),
        // EAPR_NUM_GPUS unset: AllenNLP's choice (the first GPU if there is one, else the CPU)
        [if distributed_devices == null && num_gpus != null then "cuda_device"]: if num_gpus >= 1 then 0 else -1,
      },
      // the encoder's config and tokenizer, and the run's record: whether training finished, its
      // optimizer steps and dev curve (an interrupted run is archived too; loading it then warns)
      include_in_archive: ["encoder", "run_status.json", "run_record.jsonl"],
      [if distributed_devices != null then "distributed"]: {
        cuda_devices: distributed_devices,
        ddp_accelerator: { type: "torch", find_unused_parameters: num("EAPR_FIND_UNUSED", false) },
      },
      random_seed: seed,
      numpy_seed: seed,
      pytorch_seed: seed,
    },
}
