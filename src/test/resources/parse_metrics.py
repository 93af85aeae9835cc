"""Parses the Prometheus text format from stdin with the official client's parser and prints one JSON sample per
line: {"name": ..., "labels": {...}, "value": ...}. Used by the metrics tests as Prometheus would read a scrape."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

for family in text_string_to_metric_families(sys.stdin.read()):
    for sample in family.samples:
        print(json.dumps({"name": sample.name, "labels": sample.labels, "value": sample.value,
                          "type": family.type}))
