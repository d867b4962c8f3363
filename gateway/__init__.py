"""The HTTP edge: API keys, rate limits, webhook signatures, problem+json.

Handlers parse, call one `crm` service function with the actor, and serialise.
"""
