module github.com/registry-dev/registry/bindings/go

go 1.19
