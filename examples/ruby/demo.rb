# frozen_string_literal: true

# List a repository's tags, read an image id, and download the first layer to
# a file with its digest checked.
#
#   ruby examples/ruby/demo.rb localhost:5000 team/app v1

$LOAD_PATH.unshift File.expand_path("../../bindings/ruby/lib", __dir__)
require "registry"
require "json"

addr, repo, tag = ARGV.fetch(0, "localhost:5000"), ARGV.fetch(1, "library/alpine"), ARGV.fetch(2, "latest")
begin
  client = Registry::Client.new(addr, docker_config: true)
  puts "tags of #{repo}: #{client.tags(repo).join(' ')}"
  puts "image id of #{repo}:#{tag}: #{client.image_id(repo, tag)}"
  manifest = client.manifest(repo, tag)
  layer = JSON.parse(manifest.body).dig("layers", 0, "digest") or abort "the manifest names no layer"
  path = "/tmp/registry-demo-#{Process.pid}.tar.gz"
  client.layer_to_file(repo, layer, path)
  puts "layer #{layer}: #{File.size(path)} bytes in #{path}, digest checked"
  File.delete(path)
rescue Registry::Error => e
  abort "#{e.status}: #{e.message}"
end
