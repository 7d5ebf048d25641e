"""The floor program: register a recorded run's resources straight through the Pulumi SDK, flat.

No catalog, no model, no validation, no components: see ``benchmarks.floor``.
"""

from benchmarks import floor

floor.register()
