//! The OpenAPI 3.1 description of the API, served at `/openapi.json`. A test checks
//! that every route the router serves is described here.

use serde_json::{json, Value};

pub(crate) fn document() -> Value {
    let problem = json!({"$ref": "#/components/responses/Problem"});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "FDS blocking API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Real-time fraud decisions for telecom and payment events. Machine clients authenticate with `Authorization: Bearer <api key>`: a configured key may call every route; a key made in the analyst console only the routes of its scopes (score, blocks, labels, backtests), else 401. Errors are application/problem+json."
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/score": {"post": {
                "summary": "Score one event and return the decision",
                "description": "Validates the event, updates velocity features, runs the live rules and models, and decides allow / review / block. Idempotent by event_id: a repeated event returns the stored decision with duplicate=true and is not counted twice.",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Event"}}}},
                "responses": {
                    "200": {"description": "The decision", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Decision"}}}},
                    "400": problem, "401": problem, "413": problem, "503": problem
                }
            }},
            "/v1/blocks/{subscriber}": {"get": {
                "summary": "Whether payments for a subscriber must be refused now",
                "parameters": [{"name": "subscriber", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[0-9]{8,15}$"}}],
                "responses": {
                    "200": {"description": "Block status", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BlockStatus"}}}},
                    "400": problem, "401": problem
                }
            }},
            "/v1/labels": {"post": {
                "summary": "Record a confirmed outcome for an event or a subscriber",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LabelRequest"}}}},
                "responses": {
                    "201": {"description": "The stored label", "content": {"application/json": {"schema": {"type": "object"}}}},
                    "400": problem, "401": problem, "404": problem
                }
            }},
            "/v1/backtests": {"post": {
                "summary": "Start a backtest: replay the stored events of [from, to) with a draft (or, without one, the live pack) against the live pack",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["from", "to"], "additionalProperties": false,
                    "properties": {"from": {"type": "string", "format": "date-time"}, "to": {"type": "string", "format": "date-time"}, "draft": {"type": "integer"}}
                }}}},
                "responses": {"202": {"description": "Started; poll the Location", "content": {"application/json": {"schema": {"type": "object"}}}}, "400": problem, "401": problem, "404": problem}
            }},
            "/v1/backtests/{id}": {
                "get": {
                    "summary": "A backtest's state (running, done, cancelled, failed), progress and, once ended, its report",
                    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                    "responses": {"200": {"description": "The job", "content": {"application/json": {"schema": {"type": "object"}}}}, "401": problem, "404": problem}
                },
                "delete": {
                    "summary": "Cancel a running backtest (its report so far is kept)",
                    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                    "responses": {"202": {"description": "Cancelling"}, "401": problem, "404": problem}
                }
            },
            "/healthz": {"get": {"summary": "Liveness", "security": [], "responses": {"200": {"description": "alive"}}}},
            "/readyz": {"get": {"summary": "Readiness (the store answers)", "security": [], "responses": {"200": {"description": "ready"}, "503": problem}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "security": [], "responses": {"200": {"description": "text exposition format"}}}},
            "/openapi.json": {"get": {"summary": "This document", "security": [], "responses": {"200": {"description": "OpenAPI document"}}}}
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {"Problem": {"description": "An RFC 9457 problem", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}},
            "schemas": {
                "Event": {
                    "type": "object",
                    "description": "One telecom or payment event; see docs/events.md for every type's fields.",
                    "required": ["event_id", "occurred_at", "subscriber", "type"],
                    "properties": {
                        "event_id": {"type": "string", "minLength": 1, "maxLength": 128},
                        "occurred_at": {"type": "string", "format": "date-time"},
                        "subscriber": {"type": "string", "pattern": "^[0-9]{8,15}$"},
                        "type": {"type": "string", "enum": ["call", "sms", "subscription", "sim_swap", "device_change", "port_out", "payment"]},
                        "source": {"type": "string"}
                    },
                    "additionalProperties": true
                },
                "Decision": {
                    "type": "object",
                    "required": ["decision_id", "event_id", "action", "score", "reasons", "latency_us"],
                    "properties": {
                        "decision_id": {"type": "string"},
                        "event_id": {"type": "string"},
                        "subscriber": {"type": "string"},
                        "action": {"type": "string", "enum": ["allow", "review", "block"]},
                        "score": {"type": "number", "minimum": 0, "maximum": 100},
                        "reasons": {"type": "array", "items": {"type": "object"}},
                        "block": {"type": "object"},
                        "rules_version": {"type": "string"},
                        "model_versions": {"type": "array", "items": {"type": "string"}},
                        "latency_us": {"type": "integer"},
                        "duplicate": {"type": "boolean"}
                    }
                },
                "BlockStatus": {
                    "type": "object",
                    "required": ["subscriber", "refuse_payments"],
                    "properties": {
                        "subscriber": {"type": "string"},
                        "refuse_payments": {"type": "boolean"},
                        "scope": {"type": "string", "enum": ["payments", "all"]},
                        "since": {"type": "string", "format": "date-time"},
                        "until": {"type": "string", "format": "date-time"},
                        "decision_id": {"type": "string"},
                        "block_id": {"type": "string"},
                        "reason": {"type": "string"}
                    }
                },
                "LabelRequest": {
                    "type": "object",
                    "required": ["outcome"],
                    "properties": {
                        "event_id": {"type": "string"},
                        "subscriber": {"type": "string"},
                        "outcome": {"type": "string", "enum": ["fraud", "legit"]},
                        "note": {"type": "string", "maxLength": 1000}
                    },
                    "additionalProperties": false
                },
                "Problem": {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "problems": {"type": "array", "items": {"type": "object", "properties": {"field": {"type": "string"}, "reason": {"type": "string"}}}}
                    }
                }
            }
        }
    })
}
