"""One router per resource.

These modules, functions/security.py and functions/models.py use real annotations, not
`from __future__ import annotations`: FastAPI evaluates each string annotation of every route and
dependency when the module is imported, a cost the Lambda cold start pays (docs/lambda.md).
"""
