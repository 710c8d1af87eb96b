/// The OpenAPI 3.1 document served at `/v1/openapi.json`; GatewayTests checks it against the
/// routes the gateway registers.
enum OpenAPIDocument {
    static let json = #"""
        {
         "openapi": "3.1.0",
         "info": {
          "title": "Tributary gateway",
          "version": "1",
          "description": "Functions, triggers, API keys and invocations over REST; events and results over WebSocket (/v1/stream) and Server-Sent Events (/v1/stream/sse). Errors are {\"error\":{\"code\",\"message\"}}. See docs/api.md."
         },
         "servers": [
          {
           "url": "http://127.0.0.1:8080"
          }
         ],
         "security": [
          {
           "bearer": []
          }
         ],
         "paths": {
          "/healthz": {
           "get": {
            "summary": "Liveness",
            "security": [],
            "responses": {
             "200": {
              "description": "alive"
             }
            }
           }
          },
          "/readyz": {
           "get": {
            "summary": "Readiness: the registry is loaded and results are followed",
            "security": [],
            "responses": {
             "200": {
              "description": "ready"
             },
             "503": {
              "description": "starting"
             }
            }
           }
          },
          "/metrics": {
           "get": {
            "summary": "Prometheus metrics of this process (text format)",
            "x-required-scope": "admin",
            "responses": {
             "200": {
              "description": "metrics",
              "content": {
               "text/plain": {
                "schema": {
                 "type": "string"
                }
               }
              }
             },
             "401": {
              "$ref": "#/components/responses/Unauthorized"
             },
             "403": {
              "$ref": "#/components/responses/Forbidden"
             },
             "503": {
              "description": "metrics are not collected in this process"
             }
            }
           }
          },
          "/v1/openapi.json": {
           "get": {
            "summary": "This document",
            "security": [],
            "responses": {
             "200": {
              "description": "the OpenAPI document"
             }
            }
           }
          },
          "/v1/functions": {
           "post": {
            "summary": "Deploy a new version of a function",
            "x-required-scope": "functions:write",
            "requestBody": {
             "required": true,
             "content": {
              "application/json": {
               "schema": {
                "$ref": "#/components/schemas/FunctionDeploy"
               }
              }
             }
            },
            "responses": {
             "201": {
              "description": "deployed",
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Function"
                }
               }
              }
             },
             "413": {
              "description": "body too large",
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              }
             },
             "400": {
              "$ref": "#/components/responses/BadRequest"
             },
             "401": {
              "$ref": "#/components/responses/Unauthorized"
             },
             "403": {
              "$ref": "#/components/responses/Forbidden"
             },
             "429": {
              "$ref": "#/components/responses/RateLimited"
             }
            }
           },
           "get": {
            "summary": "List functions (latest versions)",
            "x-required-scope": "functions:write",
            "responses": {
             "200": {
              "description": "functions",
              "content": {
               "application/json": {
                "schema": {
                 "type": "object",
                 "properties": {
                  "functions": {
                   "type": "array",
                   "items": {
                    "$ref": "#/components/schemas/Function"
                   }
                  }
                 }
                }
               }
              }
             },
             "400": {
              "$ref": "#/components/responses/BadRequest"
             },
             "401": {
              "$ref": "#/components/responses/Unauthorized"
             },
             "403": {
              "$ref": "#/components/responses/Forbidden"
             },
             "429": {
              "$ref": "#/components/responses/RateLimited"
             }
            }
           }
          },
          "/v1/functions/{name}": {
           "get": {
            "summary": "Get a function",
            "x-required-scope": "functions:write",
            "parameters": [
             {
              "name": "name",
              "in": "path",
              "required": true,
              "schema": {
               "type": "string"
              },
              "description": "function name"
             },
             {
              "name": "version",
              "in": "query",
              "required": false,
              "schema": {
               "type": "integer",
               "minimum": 1
              },
              "description": "a version; default the latest"
             }
            ],
            "responses": {
             "200": {
              "description": "the function with its versions",
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Function"
                }
               }
              }
             },
             "404": {
              "description": "not deployed",
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              }
             },
             "400": {
              "$ref": "#/components/responses/BadRequest"
             },
             "401": {
              "$ref": "#/components/responses/Unauthorized"
             },
             "403": {
              "$ref": "#/components/responses/Forbidden"
             },
             "429": {
              "$ref": "#/components/responses/RateLimited"
             }
            }
           },
           "delete": {
            "summary": "Delete a function and all its versions",
            "x-required-scope": "functions:write",
            "parameters": [
             {
              "name": "name",
              "in": "path",
              "required": true,
              "schema": {
               "type": "string"
              },
              "description": "function name"
             }
            ],
            "responses": {
             "204": {
              "description": "deleted"
             },
             "404": {
              "description": "not deployed",
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              }
             },
             "400": {
              "$ref": "#/components/responses/BadRequest"
             },
             "401": {
              "$ref": "#/components/responses/Unauthorized"
             },
             "403": {
              "$ref": "#/components/responses/Forbidden"
             },
             "429": {
              "$ref": "#/components/responses/RateLimited"
             }
            }
           }
          },
          "/v1/functions/{name}/invoke": {
           "post": {
            "summary": "Invoke a function with a JSON input",
            "x-required-scope": "functions:write",
            "parameters": [
             {
              "name": "name",
              "in": "path",
              "required": true,
              "schema": {
               "type": "string"
              },
              "description": "function name"
             },
             {
              "name": "version",
              "in": "query",
              "required": false,
              "schema": {
               "type": "integer",
               "minimum": 1
              },
              "description": "a version; default the latest"
             },
             {
              "name": "timeout",
              "in": "query",
              "required": false,
              "schema": {
               "type": "string"
              },
              "description": "how long to wait, such as 500ms or 5s (default 10s, at most 60s)"
             }
            ],
            "responses": {
             "200": {
              "description": "the result",
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/InvocationResult"
                }
               }
              }
             },
             "202": {
              "description": "still running: poll /v1/invocations/{id}"
             },
             "404": {
              "description": "not deployed",
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              }
             },
             "400": {
              "$ref": "#/components/responses/BadRequest"
             },
             "401": {
              "$ref": "#/components/responses/Unauthorized"
             },
             "403": {
              "$ref": "#/components/responses/Forbidden"
             },
             "429": {
              "$ref": "#/components/responses/RateLimited"
             }
            }
           }
          },
          "/v1/invocations/{id}": {
           "get": {
            "summary": "Get an invocation's result",
            "x-required-scope": "results:read",
            "parameters": [
             {
              "name": "id",
              "in": "path",
              "required": true,
              "schema": {
               "type": "string"
              },
              "description": "invocation id"
             }
            ],
            "responses": {
             "200": {
              "description": "the result",
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/InvocationResult"
                }
               }
              }
             },
             "202": {
              "description": "pending"
             },
             "404": {
              "description": "unknown",
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              }
             },
             "400": {
              "$ref": "#/components/responses/BadRequest"
             },
             "401": {
              "$ref": "#/components/responses/Unauthorized"
             },
             "403": {
              "$ref": "#/components/responses/Forbidden"
             },
             "429": {
              "$ref": "#/components/responses/RateLimited"
             }
            }
           }
          },
          "/v1/triggers": {
           "post": {
            "summary": "Create or replace a trigger",
            "x-required-scope": "functions:write",
            "requestBody": {
             "required": true,
             "content": {
              "application/json": {
               "schema": {
                "$ref": "#/components/schemas/Trigger"
               }
              }
             }
            },
            "responses": {
             "201": {
              "description": "stored",
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Trigger"
                }
               }
              }
             },
             "400": {
              "$ref": "#/components/responses/BadRequest"
             },
             "401": {
              "$ref": "#/components/responses/Unauthorized"
             },
             "403": {
              "$ref": "#/components/responses/Forbidden"
             },
             "429": {
              "$ref": "#/components/responses/RateLimited"
             }
            }
           },
           "get": {
            "summary": "List triggers",
            "x-required-scope": "functions:write",
            "responses": {
             "200": {
              "description": "triggers",
              "content": {
               "application/json": {
                "schema": {
                 "type": "object",
                 "properties": {
                  "triggers": {
                   "type": "array",
                   "items": {
                    "$ref": "#/components/schemas/Trigger"
                   }
                  }
                 }
                }
               }
              }
             },
             "400": {
              "$ref": "#/components/responses/BadRequest"
             },
             "401": {
              "$ref": "#/components/responses/Unauthorized"
             },
             "403": {
              "$ref": "#/components/responses/Forbidden"
             },
             "429": {
              "$ref": "#/components/responses/RateLimited"
             }
            }
           }
          },
          "/v1/triggers/{id}": {
           "get": {
            "summary": "Get a trigger",
            "x-required-scope": "functions:write",
            "parameters": [
             {
              "name": "id",
              "in": "path",
              "required": true,
              "schema": {
               "type": "string"
              },
              "description": "trigger id"
             }
            ],
            "responses": {
             "200": {
              "description": "the trigger",
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Trigger"
                }
               }
              }
             },
             "404": {
              "description": "unknown",
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              }
             },
             "400": {
              "$ref": "#/components/responses/BadRequest"
             },
             "401": {
              "$ref": "#/components/responses/Unauthorized"
             },
             "403": {
              "$ref": "#/components/responses/Forbidden"
             },
             "429": {
              "$ref": "#/components/responses/RateLimited"
             }
            }
           },
           "delete": {
            "summary": "Delete a trigger",
            "x-required-scope": "functions:write",
            "parameters": [
             {
              "name": "id",
              "in": "path",
              "required": true,
              "schema": {
               "type": "string"
              },
              "description": "trigger id"
             }
            ],
            "responses": {
             "204": {
              "description": "deleted"
             },
             "404": {
              "description": "unknown",
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              }
             },
             "400": {
              "$ref": "#/components/responses/BadRequest"
             },
             "401": {
              "$ref": "#/components/responses/Unauthorized"
             },
             "403": {
              "$ref": "#/components/responses/Forbidden"
             },
             "429": {
              "$ref": "#/components/responses/RateLimited"
             }
            }
           }
          },
          "/v1/triggers/test": {
           "post": {
            "summary": "Evaluate a trigger against an event or recent events",
            "x-required-scope": "functions:write",
            "requestBody": {
             "required": true,
             "content": {
              "application/json": {
               "schema": {
                "type": "object",
                "required": [
                 "trigger"
                ],
                "properties": {
                 "trigger": {
                  "$ref": "#/components/schemas/Trigger"
                 },
                 "event": {
                  "$ref": "#/components/schemas/CanonicalEvent"
                 },
                 "recent": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 10000
                 }
                }
               }
              }
             }
            },
            "responses": {
             "200": {
              "description": "what matched",
              "content": {
               "application/json": {
                "schema": {
                 "type": "object",
                 "properties": {
                  "evaluated": {
                   "type": "integer"
                  },
                  "matched": {
                   "type": "integer"
                  },
                  "matches": {
                   "type": "array",
                   "items": {
                    "$ref": "#/components/schemas/CanonicalEvent"
                   }
                  }
                 }
                }
               }
              }
             },
             "400": {
              "$ref": "#/components/responses/BadRequest"
             },
             "401": {
              "$ref": "#/components/responses/Unauthorized"
             },
             "403": {
              "$ref": "#/components/responses/Forbidden"
             },
             "429": {
              "$ref": "#/components/responses/RateLimited"
             }
            }
           }
          },
          "/v1/keys": {
           "post": {
            "summary": "Create an API key (the key is shown once)",
            "x-required-scope": "admin",
            "requestBody": {
             "required": true,
             "content": {
              "application/json": {
               "schema": {
                "type": "object",
                "required": [
                 "name",
                 "scopes"
                ],
                "properties": {
                 "name": {
                  "type": "string"
                 },
                 "scopes": {
                  "type": "array",
                  "items": {
                   "enum": [
                    "events:read",
                    "results:read",
                    "functions:write",
                    "admin"
                   ]
                  }
                 },
                 "allowedOrigins": {
                  "type": "array",
                  "items": {
                   "type": "string"
                  }
                 }
                }
               }
              }
             }
            },
            "responses": {
             "201": {
              "description": "created; 'key' holds the secret",
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/ApiKey"
                }
               }
              }
             },
             "400": {
              "$ref": "#/components/responses/BadRequest"
             },
             "401": {
              "$ref": "#/components/responses/Unauthorized"
             },
             "403": {
              "$ref": "#/components/responses/Forbidden"
             },
             "429": {
              "$ref": "#/components/responses/RateLimited"
             }
            }
           },
           "get": {
            "summary": "List API keys (without secrets)",
            "x-required-scope": "admin",
            "responses": {
             "200": {
              "description": "keys",
              "content": {
               "application/json": {
                "schema": {
                 "type": "object",
                 "properties": {
                  "keys": {
                   "type": "array",
                   "items": {
                    "$ref": "#/components/schemas/ApiKey"
                   }
                  }
                 }
                }
               }
              }
             },
             "400": {
              "$ref": "#/components/responses/BadRequest"
             },
             "401": {
              "$ref": "#/components/responses/Unauthorized"
             },
             "403": {
              "$ref": "#/components/responses/Forbidden"
             },
             "429": {
              "$ref": "#/components/responses/RateLimited"
             }
            }
           }
          },
          "/v1/keys/{id}": {
           "delete": {
            "summary": "Revoke an API key",
            "x-required-scope": "admin",
            "parameters": [
             {
              "name": "id",
              "in": "path",
              "required": true,
              "schema": {
               "type": "string"
              },
              "description": "key id"
             }
            ],
            "responses": {
             "200": {
              "description": "revoked",
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/ApiKey"
                }
               }
              }
             },
             "404": {
              "description": "unknown",
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              }
             },
             "400": {
              "$ref": "#/components/responses/BadRequest"
             },
             "401": {
              "$ref": "#/components/responses/Unauthorized"
             },
             "403": {
              "$ref": "#/components/responses/Forbidden"
             },
             "429": {
              "$ref": "#/components/responses/RateLimited"
             }
            }
           }
          },
          "/v1/stream": {
           "get": {
            "summary": "WebSocket stream of events and results (upgrade)",
            "description": "Messages are JSON: subscribe, unsubscribe, ping from the client; subscribed, event, result, dropped, heartbeat, pong, error from the server. Browsers pass the key as the subprotocol 'tributary.key.<key>' next to 'tributary.v1'. See docs/api.md.",
            "x-required-scope": "events:read or results:read",
            "responses": {
             "101": {
              "description": "switching protocols; refusals after the upgrade are close codes (4429: too many streams for the key; 1009: message too large; 1013: slow consumer)"
             },
             "400": {
              "description": "upgrade refused: origin not allowed, missing or invalid key, missing scope, or subprotocols offered without tributary.v1 (the reason is logged)"
             }
            },
            "parameters": [
             {
              "name": "frames",
              "in": "query",
              "required": false,
              "schema": {
               "enum": [
                "batched"
               ]
              },
              "description": "batched: a frame may carry several messages, one per line"
             }
            ]
           }
          },
          "/v1/stream/sse": {
           "get": {
            "summary": "Server-Sent Events stream of one subscription",
            "x-required-scope": "events:read or results:read",
            "parameters": [
             {
              "name": "stream",
              "in": "query",
              "required": true,
              "schema": {
               "enum": [
                "events",
                "results"
               ]
              },
              "description": "what to stream"
             },
             {
              "name": "filter",
              "in": "query",
              "required": false,
              "schema": {
               "type": "string"
              },
              "description": "events: a filter expression (docs/filters.md)"
             },
             {
              "name": "chains",
              "in": "query",
              "required": false,
              "schema": {
               "type": "string"
              },
              "description": "events: comma-separated CAIP-2 chain ids"
             },
             {
              "name": "finality",
              "in": "query",
              "required": false,
              "schema": {
               "enum": [
                "all",
                "pending",
                "confirmed",
                "finalized"
               ]
              },
              "description": "events: which records of an event's life"
             },
             {
              "name": "function",
              "in": "query",
              "required": false,
              "schema": {
               "type": "string"
              },
              "description": "results: one function"
             },
             {
              "name": "from",
              "in": "query",
              "required": false,
              "schema": {
               "type": "string"
              },
              "description": "latest (default), earliest or a cursor; Last-Event-ID overrides it"
             }
            ],
            "responses": {
             "200": {
              "description": "text/event-stream"
             },
             "400": {
              "$ref": "#/components/responses/BadRequest"
             },
             "401": {
              "$ref": "#/components/responses/Unauthorized"
             },
             "403": {
              "$ref": "#/components/responses/Forbidden"
             },
             "429": {
              "$ref": "#/components/responses/RateLimited"
             }
            }
           }
          }
         },
         "components": {
          "securitySchemes": {
           "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key: Authorization: Bearer trb_\u2026"
           }
          },
          "schemas": {
           "Error": {
            "type": "object",
            "properties": {
             "error": {
              "type": "object",
              "properties": {
               "code": {
                "type": "string"
               },
               "message": {
                "type": "string"
               }
              }
             }
            }
           },
           "FunctionDeploy": {
            "type": "object",
            "required": [
             "name",
             "module"
            ],
            "properties": {
             "name": {
              "type": "string"
             },
             "module": {
              "type": "string",
              "contentEncoding": "base64"
             },
             "manifest": {
              "$ref": "#/components/schemas/Manifest"
             }
            }
           },
           "Manifest": {
            "type": "object",
            "properties": {
             "abi": {
              "enum": [
               "FUNCTION_ABI_RAW",
               "FUNCTION_ABI_WASI"
              ]
             },
             "entry": {
              "type": "string"
             },
             "limits": {
              "type": "object"
             },
             "environment": {
              "type": "object",
              "additionalProperties": {
               "type": "string"
              }
             },
             "arguments": {
              "type": "array",
              "items": {
               "type": "string"
              }
             },
             "description": {
              "type": "string"
             }
            }
           },
           "Function": {
            "type": "object",
            "properties": {
             "name": {
              "type": "string"
             },
             "version": {
              "type": "integer"
             },
             "moduleSha256": {
              "type": "string"
             },
             "manifest": {
              "$ref": "#/components/schemas/Manifest"
             },
             "createdAt": {
              "type": "string"
             },
             "versions": {
              "type": "array",
              "items": {
               "type": "integer"
              }
             }
            }
           },
           "Trigger": {
            "type": "object",
            "properties": {
             "id": {
              "type": "string"
             },
             "functionName": {
              "type": "string"
             },
             "functionVersion": {
              "type": "integer"
             },
             "chains": {
              "type": "array",
              "items": {
               "type": "string"
              }
             },
             "addresses": {
              "type": "array",
              "items": {
               "type": "string"
              }
             },
             "event": {
              "type": "string"
             },
             "filter": {
              "type": "string"
             },
             "finality": {
              "type": "object"
             },
             "disabled": {
              "type": "boolean"
             }
            }
           },
           "ApiKey": {
            "type": "object",
            "properties": {
             "id": {
              "type": "string"
             },
             "name": {
              "type": "string"
             },
             "scopes": {
              "type": "array",
              "items": {
               "type": "string"
              }
             },
             "allowedOrigins": {
              "type": "array",
              "items": {
               "type": "string"
              }
             },
             "createdAt": {
              "type": "string"
             },
             "revokedAt": {
              "type": "string"
             },
             "key": {
              "type": "string",
              "description": "only in the creation response"
             }
            }
           },
           "CanonicalEvent": {
            "type": "object",
            "description": "proto3-JSON of tributary.v1.CanonicalEvent (proto/tributary/v1/event.proto)"
           },
           "InvocationResult": {
            "type": "object",
            "description": "proto3-JSON of tributary.v1.InvocationResult (proto/tributary/v1/invocation.proto)"
           }
          },
          "responses": {
           "BadRequest": {
            "description": "bad request",
            "content": {
             "application/json": {
              "schema": {
               "$ref": "#/components/schemas/Error"
              }
             }
            }
           },
           "Unauthorized": {
            "description": "missing or invalid API key",
            "content": {
             "application/json": {
              "schema": {
               "$ref": "#/components/schemas/Error"
              }
             }
            }
           },
           "Forbidden": {
            "description": "missing scope or origin not allowed",
            "content": {
             "application/json": {
              "schema": {
               "$ref": "#/components/schemas/Error"
              }
             }
            }
           },
           "RateLimited": {
            "description": "rate limited",
            "content": {
             "application/json": {
              "schema": {
               "$ref": "#/components/schemas/Error"
              }
             }
            }
           }
          }
         }
        }
        """#
}
