module registry-example

go 1.19

require registry v0.0.0

replace registry => ../../bindings/go
