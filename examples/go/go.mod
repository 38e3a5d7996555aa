module registry-example

go 1.19

require github.com/registry-dev/registry/bindings/go v0.0.0

// This checkout's module; a program outside it drops the replace and runs
// `go get github.com/registry-dev/registry/bindings/go@latest`.
replace github.com/registry-dev/registry/bindings/go => ../../bindings/go
