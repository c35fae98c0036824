"""Which metrics the run page charts together."""

from __future__ import annotations

from ftui.core.runs.metric_groups import metric_groups


def test_everything_a_local_run_logs() -> None:
    names = sorted(
        [
            "train_loss",
            "valid_loss",
            "train_mean_token_accuracy",
            "valid_mean_token_accuracy",
            "learning_rate",
            "grad_norm",
            "tokens_per_second",
            "gpu_memory_gb",
            "gpu_utilization",
            "cpu_percent",
            "ram_gb",
            "epoch",
        ]
    )
    assert metric_groups(names) == [
        ("loss", ["train_loss", "valid_loss"]),
        ("token accuracy", ["train_mean_token_accuracy", "valid_mean_token_accuracy"]),
        ("learning rate", ["learning_rate"]),
        ("grad norm", ["grad_norm"]),
        ("throughput", ["tokens_per_second"]),
        ("system use %", ["cpu_percent", "gpu_utilization"]),  # percentages on their own axis
        ("memory GB", ["gpu_memory_gb", "ram_gb"]),
        ("epoch", ["epoch"]),
    ]


def test_train_and_valid_loss_lead_their_group_and_other_losses_join_it() -> None:
    names = ["eval_loss", "full_valid_loss", "loss", "valid_loss", "train_loss"]
    assert metric_groups(names) == [
        ("loss", ["train_loss", "valid_loss", "eval_loss", "full_valid_loss", "loss"])
    ]


def test_openai_checkpoint_metrics() -> None:
    names = sorted(
        [
            "train_loss",
            "valid_loss",
            "full_valid_loss",
            "train_mean_token_accuracy",
            "valid_mean_token_accuracy",
            "full_valid_mean_token_accuracy",
        ]
    )
    assert metric_groups(names) == [
        ("loss", ["train_loss", "valid_loss", "full_valid_loss"]),
        (
            "token accuracy",
            [
                "train_mean_token_accuracy",
                "valid_mean_token_accuracy",
                "full_valid_mean_token_accuracy",
            ],
        ),
    ]


def test_other_accuracy_lr_alias_and_unknown_metrics() -> None:
    assert metric_groups(["zeta", "lr", "eval_accuracy", "alpha"]) == [
        ("accuracy", ["eval_accuracy"]),
        ("learning rate", ["lr"]),
        ("zeta", ["zeta"]),
        ("alpha", ["alpha"]),
    ]


def test_no_metrics_no_groups_and_a_name_given_twice_counts_once() -> None:
    assert metric_groups([]) == []
    assert metric_groups(["train_loss", "train_loss"]) == [("loss", ["train_loss"])]


def test_metric_values_read_at_their_own_scale() -> None:
    from ftui.services.runs import format_metric

    assert format_metric(2e-05) == "2.00e-05"  # a learning rate, not 0.0000
    assert format_metric(16390.4) == "16,390"  # a throughput, not 1.639e+04
    assert format_metric(0.5912) == "0.5912"
    assert format_metric(0.0) == "0.0000"
    assert format_metric(None) == "-"
