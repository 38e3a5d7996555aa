# frozen_string_literal: true

# The gem of the Ruby wrapper (lib/registry.rb). Its version is the C
# library's, read from the repository's Cargo.toml; the C library itself is
# installed apart (`make install`) and found when the gem is required: see the
# top of lib/registry.rb.
cargo_toml = File.read(File.expand_path("../../Cargo.toml", __dir__))
version = cargo_toml[/^\[package\][^\[]*?^version\s*=\s*"([^"]+)"/m, 1] or
  raise "no [package] version in #{File.expand_path('../../Cargo.toml', __dir__)}"

Gem::Specification.new do |spec|
  spec.name = "registry-ffi"
  spec.version = version
  spec.summary = "A blocking Docker/OCI registry client (the registry C library, through ffi)"
  spec.description = <<~TEXT
    Ping, search, list tags, read image ids and manifests, download and upload
    layers with their digests checked, tag and untag, against Docker Registry
    v1 and v2 / OCI distribution registries, through the registry C library
    (libregistry.so.#{version.split('.').first}, installed apart). `require "registry"`.
  TEXT
  spec.authors = ["The registry developers"]
  spec.licenses = ["MIT", "Apache-2.0"]
  spec.homepage = "https://github.com/registry-dev/registry"
  spec.metadata["source_code_uri"] = "https://github.com/registry-dev/registry/tree/main/bindings/ruby"
  spec.metadata["rubygems_mfa_required"] = "true"

  spec.files = Dir.glob("lib/**/*.rb", base: __dir__)
  spec.require_paths = ["lib"]
  spec.required_ruby_version = ">= 3.0"
  spec.add_dependency "ffi", "~> 1.15"
  spec.requirements << "the registry C library, libregistry.so.#{version.split('.').first} " \
                       "(make install in the source repository)"
end
