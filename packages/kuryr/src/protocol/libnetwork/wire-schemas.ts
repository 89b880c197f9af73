/**
 * The request schema of every libnetwork method that takes arguments, as
 * plain JSON Schema: what the plugin server validates bodies against. The
 * declarations (and the handlers' types) are in wire.ts (TypeBox); this file
 * is generated from them by scripts/wire-schemas.mjs so that the daemon does
 * not load TypeBox at all (its type builder alone held ~3 MB of heap and
 * ~4 MB of resident memory). A unit test keeps the two equal.
 */

export const REQUEST_SCHEMAS: Readonly<Record<string, object>> = {
  "NetworkDriver.GwAllocCheck": {
    "type": "object",
    "properties": {
      "Options": {
        "type": [
          "object",
          "null"
        ]
      }
    }
  },
  "NetworkDriver.CreateNetwork": {
    "type": "object",
    "required": [
      "NetworkID",
      "IPv4Data"
    ],
    "properties": {
      "NetworkID": {
        "type": "string",
        "pattern": "^([0-9a-f]{64}|[0-9a-z]{25})$"
      },
      "Options": {
        "type": [
          "object",
          "null"
        ]
      },
      "IPv4Data": {
        "type": [
          "array",
          "null"
        ],
        "items": {
          "type": "object",
          "required": [
            "AddressSpace",
            "Pool"
          ],
          "properties": {
            "AddressSpace": {
              "type": "string"
            },
            "Pool": {
              "type": "string",
              "minLength": 1
            },
            "Gateway": {
              "type": "string"
            },
            "AuxAddresses": {
              "type": [
                "object",
                "null"
              ],
              "additionalProperties": {
                "type": "string"
              }
            }
          }
        }
      },
      "IPv6Data": {
        "type": [
          "array",
          "null"
        ],
        "items": {
          "type": "object",
          "required": [
            "AddressSpace",
            "Pool"
          ],
          "properties": {
            "AddressSpace": {
              "type": "string"
            },
            "Pool": {
              "type": "string",
              "minLength": 1
            },
            "Gateway": {
              "type": "string"
            },
            "AuxAddresses": {
              "type": [
                "object",
                "null"
              ],
              "additionalProperties": {
                "type": "string"
              }
            }
          }
        }
      }
    }
  },
  "NetworkDriver.DeleteNetwork": {
    "type": "object",
    "required": [
      "NetworkID"
    ],
    "properties": {
      "NetworkID": {
        "type": "string",
        "pattern": "^([0-9a-f]{64}|[0-9a-z]{25})$"
      }
    }
  },
  "NetworkDriver.CreateEndpoint": {
    "type": "object",
    "required": [
      "NetworkID",
      "EndpointID"
    ],
    "properties": {
      "NetworkID": {
        "type": "string",
        "pattern": "^([0-9a-f]{64}|[0-9a-z]{25})$"
      },
      "EndpointID": {
        "type": "string",
        "pattern": "^([0-9a-f]{64}|[0-9a-z]{25})$"
      },
      "Options": {
        "type": [
          "object",
          "null"
        ]
      },
      "Interface": {
        "type": [
          "object",
          "null"
        ],
        "properties": {
          "Address": {
            "type": "string"
          },
          "AddressIPv6": {
            "type": "string"
          },
          "MacAddress": {
            "type": "string",
            "pattern": "^([0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5})?$"
          }
        }
      }
    }
  },
  "NetworkDriver.EndpointOperInfo": {
    "type": "object",
    "required": [
      "NetworkID",
      "EndpointID"
    ],
    "properties": {
      "NetworkID": {
        "type": "string",
        "pattern": "^([0-9a-f]{64}|[0-9a-z]{25})$"
      },
      "EndpointID": {
        "type": "string",
        "pattern": "^([0-9a-f]{64}|[0-9a-z]{25})$"
      }
    }
  },
  "NetworkDriver.DeleteEndpoint": {
    "type": "object",
    "required": [
      "NetworkID",
      "EndpointID"
    ],
    "properties": {
      "NetworkID": {
        "type": "string",
        "pattern": "^([0-9a-f]{64}|[0-9a-z]{25})$"
      },
      "EndpointID": {
        "type": "string",
        "pattern": "^([0-9a-f]{64}|[0-9a-z]{25})$"
      }
    }
  },
  "NetworkDriver.Join": {
    "type": "object",
    "required": [
      "NetworkID",
      "EndpointID",
      "SandboxKey"
    ],
    "properties": {
      "NetworkID": {
        "type": "string",
        "pattern": "^([0-9a-f]{64}|[0-9a-z]{25})$"
      },
      "EndpointID": {
        "type": "string",
        "pattern": "^([0-9a-f]{64}|[0-9a-z]{25})$"
      },
      "SandboxKey": {
        "type": "string",
        "minLength": 1
      },
      "Options": {
        "type": [
          "object",
          "null"
        ]
      }
    }
  },
  "NetworkDriver.Leave": {
    "type": "object",
    "required": [
      "NetworkID",
      "EndpointID"
    ],
    "properties": {
      "NetworkID": {
        "type": "string",
        "pattern": "^([0-9a-f]{64}|[0-9a-z]{25})$"
      },
      "EndpointID": {
        "type": "string",
        "pattern": "^([0-9a-f]{64}|[0-9a-z]{25})$"
      }
    }
  },
  "NetworkDriver.ProgramExternalConnectivity": {
    "type": "object",
    "required": [
      "NetworkID",
      "EndpointID"
    ],
    "properties": {
      "NetworkID": {
        "type": "string",
        "pattern": "^([0-9a-f]{64}|[0-9a-z]{25})$"
      },
      "EndpointID": {
        "type": "string",
        "pattern": "^([0-9a-f]{64}|[0-9a-z]{25})$"
      },
      "Options": {
        "type": [
          "object",
          "null"
        ]
      }
    }
  },
  "NetworkDriver.RevokeExternalConnectivity": {
    "type": "object",
    "required": [
      "NetworkID",
      "EndpointID"
    ],
    "properties": {
      "NetworkID": {
        "type": "string",
        "pattern": "^([0-9a-f]{64}|[0-9a-z]{25})$"
      },
      "EndpointID": {
        "type": "string",
        "pattern": "^([0-9a-f]{64}|[0-9a-z]{25})$"
      }
    }
  },
  "NetworkDriver.DiscoverNew": {
    "type": "object",
    "properties": {
      "DiscoveryType": {
        "type": "integer"
      }
    }
  },
  "NetworkDriver.DiscoverDelete": {
    "type": "object",
    "properties": {
      "DiscoveryType": {
        "type": "integer"
      }
    }
  },
  "NetworkDriver.AllocateNetwork": {
    "type": "object",
    "required": [
      "NetworkID"
    ],
    "properties": {
      "NetworkID": {
        "type": "string",
        "pattern": "^([0-9a-f]{64}|[0-9a-z]{25})$"
      },
      "Options": {
        "type": [
          "object",
          "null"
        ],
        "additionalProperties": {
          "type": "string"
        }
      }
    }
  },
  "NetworkDriver.FreeNetwork": {
    "type": "object",
    "required": [
      "NetworkID"
    ],
    "properties": {
      "NetworkID": {
        "type": "string",
        "pattern": "^([0-9a-f]{64}|[0-9a-z]{25})$"
      }
    }
  },
  "IpamDriver.RequestPool": {
    "type": "object",
    "required": [
      "AddressSpace"
    ],
    "properties": {
      "AddressSpace": {
        "type": "string"
      },
      "Pool": {
        "type": "string"
      },
      "SubPool": {
        "type": "string"
      },
      "Options": {
        "type": [
          "object",
          "null"
        ],
        "additionalProperties": {
          "type": "string"
        }
      },
      "V6": {
        "type": "boolean"
      }
    }
  },
  "IpamDriver.ReleasePool": {
    "type": "object",
    "required": [
      "PoolID"
    ],
    "properties": {
      "PoolID": {
        "type": "string",
        "minLength": 1
      }
    }
  },
  "IpamDriver.RequestAddress": {
    "type": "object",
    "required": [
      "PoolID"
    ],
    "properties": {
      "PoolID": {
        "type": "string",
        "minLength": 1
      },
      "Address": {
        "type": "string"
      },
      "Options": {
        "type": [
          "object",
          "null"
        ],
        "additionalProperties": {
          "type": "string"
        }
      }
    }
  },
  "IpamDriver.ReleaseAddress": {
    "type": "object",
    "required": [
      "PoolID",
      "Address"
    ],
    "properties": {
      "PoolID": {
        "type": "string",
        "minLength": 1
      },
      "Address": {
        "type": "string",
        "minLength": 1
      }
    }
  }
};

/** The request schema of a method, if it takes arguments. */
export function requestSchema(method: string): object | undefined {
  return Object.hasOwn(REQUEST_SCHEMAS, method) ? REQUEST_SCHEMAS[method] : undefined;
}
