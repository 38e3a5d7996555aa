module registry

go 1.19
