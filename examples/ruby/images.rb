# frozen_string_literal: true

# Whole images with a progress display: pull an image (every platform) into
# an OCI image layout that skopeo, podman or crane can read, push it back
# under another name, and copy it within the registry; the digest stays the
# same all the way.
#
#   ruby examples/ruby/images.rb localhost:5000 team/app v1

$LOAD_PATH.unshift File.expand_path("../../bindings/ruby/lib", __dir__)
require "registry"
require "tmpdir"

# A progress block: one line per blob or manifest once it is done; on a
# terminal, also the bytes as they move. (A blob may be reported done more
# than once: the first time counts.)
def progress(step)
  finished = {}
  proc do |digest, done, total|
    next if finished[digest]

    finished[digest] = done == total
    line = format("%-4s %s %10d / %s bytes", step, digest.delete_prefix("sha256:")[0, 12], done,
                  total.zero? ? "?" : total)
    if $stdout.tty?
      print "\r#{line}"
      puts if finished[digest]
    elsif finished[digest]
      puts line
    end
  end
end

addr, repo, tag = ARGV.fetch(0, "localhost:5000"), ARGV.fetch(1, "library/alpine"), ARGV.fetch(2, "latest")
begin
  client = Registry::Client.new(addr, docker_config: true, parallel: 4)
  Dir.mktmpdir("registry-images") do |dir|
    digest = client.pull(repo, tag, dir, &progress("pull"))
    puts "pulled #{repo}:#{tag} (#{digest}) into #{dir}, name #{tag}"

    pushed = client.push(dir, "examples/ruby-pushed", tag, &progress("push"))
    puts "pushed it to examples/ruby-pushed:#{tag} (#{pushed})"

    copied = client.copy(repo, tag, to: client, repo: "examples/ruby-copied", &progress("copy"))
    puts "copied #{repo}:#{tag} to examples/ruby-copied:#{tag} (#{copied})"
    abort "the digests differ" unless [pushed, copied].all?(digest)
  end
  config = client.config(repo, tag)
  puts "config of #{repo}:#{tag}: #{config['os']}/#{config['architecture']}"
rescue Registry::Error => e
  abort "#{e.status}: #{e.message}"
end
