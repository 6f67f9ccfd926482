// Command etcd is etcd's own server main, built from the pinned module for the tests' real
// control plane (scripts/real/build.sh). Nothing here but the call.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
