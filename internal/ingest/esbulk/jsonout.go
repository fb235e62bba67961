package esbulk

import (
	"github.com/mamori/mamori/internal/jsonstr"
)

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte { return jsonstr.Append(dst, s) }
