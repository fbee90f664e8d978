"""The benchmark table: every figure beside its baseline, ratios, targets."""

from __future__ import annotations

from bench.table import (
    Row,
    fmt_number,
    load,
    per_core,
    ratio_at_least,
    ratio_at_most,
    render,
    save,
)


def test_ratio_is_value_over_baseline_and_absent_without_a_baseline():
    assert Row("b", "f", 30.0, baseline=60.0).ratio == 0.5
    assert Row("b", "f", 30.0).ratio is None
    assert Row("b", "f", None, baseline=60.0).ratio is None
    assert Row("b", "f", 30.0, baseline=0.0).ratio is None


def test_targets_on_ratios_and_limits():
    assert ratio_at_least(40, 100, 0.40) is True
    assert ratio_at_least(39, 100, 0.40) is False
    assert ratio_at_most(110, 100, 1.10) is True
    assert ratio_at_most(111, 100, 1.10) is False
    assert ratio_at_most(None, 100, 1.10) is None


def test_one_core_carries_a_second_of_cpu_divided_by_the_cost_of_a_request():
    assert per_core(2.5) == 400.0
    assert per_core(0.0) is None
    assert per_core(None) is None


def test_numbers_are_shown_with_sensible_precision():
    assert fmt_number(1234567.0) == "1,234,567"
    assert fmt_number(17.0) == "17"
    assert fmt_number(123.4) == "123"
    assert fmt_number(12.34) == "12.3"
    assert fmt_number(1.234) == "1.23"
    assert fmt_number(None) == "n/a"


def test_render_puts_value_baseline_ratio_and_verdict_on_one_line():
    text = render(
        [
            Row("webhooks", "SMS req/s", 420.0, "/s", 1000.0, "healthz", ">= 0.40", True),
            Row("webhooks", "SMS p99", 31.0, "ms", target="< 25 ms", met=False),
        ]
    )
    lines = text.splitlines()
    assert lines[0].startswith("| bench")
    assert len({len(line) for line in lines}) == 1  # columns aligned
    assert "420 /s" in lines[2] and "1,000 (healthz)" in lines[2] and "0.42" in lines[2]
    assert lines[2].rstrip(" |").endswith("yes")
    assert "**no**" in lines[3]


def test_rows_survive_a_round_trip_through_json(tmp_path):
    rows = [Row("pool", "lower bound", 17.0), Row("pool", "ours", 18.0, "", 17.0, "lb", "x", True)]
    save(rows, tmp_path / "pool.json")
    assert load(tmp_path / "pool.json") == rows


def test_report_writes_the_table_between_the_readme_markers(tmp_path, monkeypatch):
    from bench import report

    readme = tmp_path / "README.md"
    readme.write_text("# Bench\n\n<!-- table -->\nold\n<!-- /table -->\n\n## More\n")
    monkeypatch.setattr(report, "README", readme)
    report.write_readme("| new | table |")
    assert readme.read_text() == (
        "# Bench\n\n<!-- table -->\n| new | table |\n<!-- /table -->\n\n## More\n"
    )


def test_commits_count_explicit_ones_and_writes_in_autocommit():
    from bench.queries import commits_in

    webhook = [
        "BEGIN", "INSERT INTO seen", "COMMIT",  # the signature's own transaction
        "BEGIN", "SAVEPOINT s1", "INSERT INTO message", "RELEASE SAVEPOINT s1",
        "SELECT 1", "UPDATE message", "COMMIT",
        "INSERT INTO task",  # on commit, in autocommit
        "SELECT 2",
    ]  # fmt: skip
    assert commits_in(webhook) == 3
    assert commits_in(["SELECT 1"]) == 0
    assert commits_in(["BEGIN", "INSERT INTO x", "ROLLBACK"]) == 0
    # A data-modifying WITH in autocommit is a commit; a reading one is not.
    assert commits_in(["WITH g AS (INSERT INTO seen VALUES (1)) SELECT 1", "SELECT 2"]) == 1
    assert commits_in(["WITH r AS (SELECT 1) SELECT * FROM r"]) == 0


def test_cpu_per_request_by_part_in_milliseconds():
    from bench.cpu import per_request

    before = {"web/10": 1.0, "web/11": 1.0, "postgres/20": 2.0, "postgres/21": 9.0}
    # postgres/21 ended (not counted), postgres/22 started (counted whole).
    after = {"web/10": 2.0, "web/11": 2.0, "postgres/20": 2.5, "postgres/22": 0.25}
    assert per_request(before, after, 1000) == {"postgres": 0.75, "web": 2.0}
    assert per_request(before, after, 0) == {}


def test_process_times_see_this_process_in_its_own_group():
    import os

    from bench.cpu import process_times

    group, seconds = process_times()[os.getpid()]
    assert group == os.getpgrp()
    assert seconds >= 0
