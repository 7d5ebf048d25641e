"""Benchmarks of platform-secrets: how the offline plan scales with the size of the catalog.

``python -m benchmarks.scale`` plans synthetic catalogs (10 to 1000 services) per cloud and compares each run
with the floor: the same resources registered straight through the Pulumi SDK under the same mock engine
(``benchmarks.floor``). ``python -m benchmarks.whole_process`` compares the dev stack's whole plan command with
the floor as whole processes. Nothing here is imported by the program or by ``tools``.
"""
