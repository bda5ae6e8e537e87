"""Understanding the role of invariance in transfer learning: invariance measure + transfer experiment."""

from geoatlas import hookimpl

MANIFEST = {
    "id": "invariance_transfer",
    "title": "Representational invariance and transfer",
    "summary": "The normalised representational-invariance measure of Speicher et al. (distance between "
    "representations of inputs that differ only in a transformation, relative to random pairs) as a pipeline "
    "measure of any trained model, an encoder wrapper that trains a backbone under one transformation family, and a "
    "Transforms-2D-style dataset of digits under one controlled transformation family, for measuring how "
    "invariance acquired in pretraining transfers to new tasks. Use it to check which invariances a "
    "pretrained model has before transferring it.",
    "api": ">=1,<2",
    "status": "experimental",
    "papers": [
        {
            "title": "Understanding the Role of Invariance in Transfer Learning",
            "authors": ["Till Speicher", "Vedant Nanda", "Krishna P. Gummadi"],
            "year": 2024,
            "venue": "arXiv preprint",
            "arxiv": "2407.04325",
        }
    ],
    "components": {
        "dataset": {
            "transformed_digits": {"target": ".data:TransformedDigits", "summary": "digits under one controlled transformation family (none/rotate/translate/scale/hflip), single views or pairs"},
        },
        "measure": {
            "representational_invariance": {"target": ".measure:RepresentationalInvariance", "summary": "normalised invariance d_T of a trained model's representations to one transformation family (0 = invariant, ~1 = as far as a random other input)"},
        },
        "encoder": {
            "family_augmented": {"target": ".augment:FamilyAugmented", "summary": "a registered image encoder trained on inputs under random members of one transformation family (with vs without an invariance in one pipeline)"},
        },
    },
    "extras": [],
    "verified": [
        "invariance measure: < 1e-6 for an orbit-averaged (exactly invariant) model, 1.00 +- 0.03 for independent inputs, equals a numpy re-computation (1e-12)",
        "pair views share their background: identical under the identity family, equal on every pixel no object touches",
        "reproduction: pretraining on a family gives the lowest d_T for it; Spearman(invariance, transfer accuracy) = 0.74",
        "measure component: passes check_measure; equals the function (1e-12) and a numpy re-computation (1e-9); identity family 0 for any model; flip-averaged and constant models 0 (plain net > 0.2); d_T rises strictly with rotation range",
        "pipeline rotation_invariance: rotation-trained CNN d_T(rotate) 0.395 vs 0.837 for the plain CNN; translate control 0.828 vs 0.712",
    ],
    "claims": [
        {
            "id": "matching_invariance_transfers_best",
            "claim": "For each target task (a rotate / translate / scale nuisance), the model pretrained with that "
            "transformation transfers best",
            "paper": "invariance to the right transformations is as, or often more, important for transfer than the number "
            "of samples, the architecture or the pretraining classes",
            "where": "Speicher et al. 2024, abstract finding (a); Transforms-2D experiments",
            "metric": "transfer accuracy of a logistic-regression probe on frozen features",
            "direction": "ordering",
        },
        {
            "id": "invariance_correlates_with_transfer",
            "claim": "Across (pretrained model, target task) pairs, invariance to the task's transformation correlates "
            "positively with transfer accuracy",
            "paper": "representations invariant to the target task's transformations transfer better; wrong invariances "
            "can harm transfer (qualitative)",
            "where": "Speicher et al. 2024, abstract findings (a) and (b)",
            "metric": "Spearman correlation of -d_T and transfer accuracy (p < 0.05)",
            "direction": "higher",
        },
        {
            "id": "learned_invariance_transfers_to_new_classes",
            "claim": "Invariance learned in pretraining carries over to classes not seen in pretraining: the model "
            "pretrained with a transformation is the most invariant to it on new objects",
            "paper": "learned invariance transfers between tasks, depending on how source and target relate (qualitative)",
            "where": "Speicher et al. 2024, abstract finding (c)",
            "metric": "representational invariance d_T on new classes (lower = more invariant)",
            "direction": "ordering",
        },
    ],
}


@hookimpl
def geoatlas_manifest() -> dict:
    return MANIFEST
