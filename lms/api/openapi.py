"""OpenAPI 3 description of the v1 API."""

_ERR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


OPENAPI: dict = {
    "openapi": "3.0.3",
    "info": {"title": "Hai Phong LMS API", "version": "1.0.0"},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {"type": "string"},
                    "errors": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "path": {"type": "string", "nullable": True},
                                "line": {"type": "integer", "nullable": True},
                            },
                        },
                    },
                },
            },
            "Package": {
                "type": "object",
                "required": ["id", "title", "version", "scorm_version", "scos"],
                "properties": {
                    "id": {"type": "integer"},
                    "title": {"type": "string"},
                    "version": {"type": "integer", "description": "package version number"},
                    "scorm_version": {"type": "string", "enum": ["1.2", "2004"]},
                    "edition": {"type": "string"},
                    "sha256": {"type": "string"},
                    "created": {"type": "boolean"},
                    "completion_fallback": {"type": "object"},
                    "scos": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "id": {"type": "string"},
                                "title": {"type": "string"},
                                "launch": {"type": "string"},
                                "type": {"type": "string"},
                            },
                        },
                    },
                },
            },
            "Registration": {
                "type": "object",
                "required": ["id", "launch_url", "completion_status", "success_status"],
                "properties": {
                    "id": {"type": "integer"},
                    "package_id": {"type": "integer"},
                    "package_version": {"type": "integer"},
                    "user_email": {"type": "string"},
                    "launch_url": {"type": "string"},
                    "completion_status": {"type": "string"},
                    "success_status": {"type": "string"},
                    "score": {"type": "number", "nullable": True},
                    "total_time": {"type": "number", "description": "seconds"},
                    "completion_decided_by": {"type": "string", "enum": ["content", "platform"]},
                    "attempt": {"type": "integer"},
                    "scos": {"type": "array", "items": {"type": "object"}},
                },
            },
        },
    },
    "security": [{"bearer": []}],
    "paths": {
        "/api/v1/packages": {
            "post": {
                "summary": "Import a SCORM zip",
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {
                                    "file": {"type": "string", "format": "binary"},
                                    "package_id": {
                                        "type": "integer",
                                        "description": "import as a new version of this package",
                                    },
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "201": _json({"$ref": "#/components/schemas/Package"}, "Imported"),
                    "200": _json({"$ref": "#/components/schemas/Package"}, "Already imported"),
                    "401": _json(_ERR, "Not authenticated"),
                    "403": _json(_ERR, "Not an administrator"),
                    "422": _json(_ERR, "Package rejected"),
                },
            }
        },
        "/api/v1/packages/{id}": {
            "get": {
                "summary": "A package and its SCOs",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
                ],
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/Package"}, "The package"),
                    "404": _json(_ERR, "Unknown package"),
                },
            }
        },
        "/api/v1/registrations": {
            "post": {
                "summary": "Register a learner for a package",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["package_id"],
                                "properties": {
                                    "package_id": {"type": "integer"},
                                    "user_email": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "201": _json({"$ref": "#/components/schemas/Registration"}, "Registered"),
                    "403": _json(_ERR, "Not allowed"),
                    "422": _json(_ERR, "Invalid request"),
                },
            }
        },
        "/api/v1/registrations/{id}": {
            "get": {
                "summary": "Progress of a registration, with per-SCO CMI state",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
                ],
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/Registration"}, "Progress"),
                    "404": _json(_ERR, "Unknown registration"),
                },
            }
        },
    },
}
