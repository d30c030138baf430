"""The callback contract (v1), as data — one source of truth for every consumer.

Producer-input validation, response classification, the sandbox platform, the battery, the
simulator, the investigator's explanations, the API reference page and the OpenAPI document all
read this package; it imports nothing else of Callback Desk. Add a destination in
:mod:`contract.destinations` and every consumer follows.

Modules: :mod:`~contract.destinations` (destinations, fields, supported codes, delivery
defaults), :mod:`~contract.restrictions` (restriction types), :mod:`~contract.payouts` (settle
arithmetic), :mod:`~contract.checking` (the one body checker, producer and reader modes).
"""
from contract.destinations import (  # noqa: F401  (the package's public names)
    BET_TYPES,
    COMMON_FIELDS,
    COMPETITOR,
    CONTRACT_VERSION,
    DECLINE,
    DEFAULT_HEARTBEAT_INTERVAL_S,
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_RETRY_SCHEDULE_S,
    DEFAULT_TIMEOUT_S,
    DESTINATIONS,
    HEARTBEAT,
    HEARTBEAT_DESTINATION,
    HEARTBEAT_JITTER,
    MAX_INTEGER,
    MAX_PAYLOAD_BYTES,
    MAX_RETRY_AFTER_S,
    MAX_SYSTEM_SIZE,
    MIN_HEARTBEAT_INTERVAL_S,
    ODD,
    ODD_STATUSES,
    PLACE,
    PLACE_RETRY_LIMIT_RESTRICTION,
    RESPONSE_BODY_CAP_BYTES,
    RESTRICTION,
    RETRY_JITTER,
    SESSION_STATES,
    SESSION_UNKNOWN,
    SETTLE_TYPES,
    Destination,
    Field,
    SupportedError,
    destination,
    error_body,
    error_code_of,
    queueable,
    supported_codes,
)
