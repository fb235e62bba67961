package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

func init() {
	register("version", "print the version", func(ctx context.Context, args []string) error {
		v := "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			v = bi.Main.Version
		}
		fmt.Println("mamori", v)
		return nil
	})
}
