# frozen_string_literal: true

# OCI 1.1 artifacts and their referrers (signatures, SBOMs, attestations).
module Registry
  module Native
    attach_function :registry_referrers, %i[pointer string string string pointer err_out], :status, blocking: true
    attach_function :registry_image_pull_with,
                    %i[pointer string string pointer string registry_progress_fn pointer pointer err_out],
                    :status, blocking: true
    attach_function :registry_image_copy_with,
                    %i[pointer string string pointer string string pointer registry_progress_fn pointer pointer
                       err_out],
                    :status, blocking: true
    attach_function :registry_artifact_push,
                    %i[pointer string string string string pointer pointer size_t pointer err_out],
                    :status, blocking: true
  end

  class Client
    # The referrers of the manifest digest in repo (manifests whose subject
    # it is): an Array of descriptor Hashes ("mediaType", "digest", "size",
    # "artifactType", "annotations"), only those of artifact_type when given.
    # From the registry's referrers API, or its fallback tag where it has
    # none (distribution 2.8).
    def referrers(repo, digest, artifact_type: nil)
      index = out_call(:take_buf) { |h, out, e| Native.registry_referrers(h, repo, digest, artifact_type, out, e) }
      JSON.parse(index).fetch("manifests")
    end

    # Pushes files (paths, or [path, media_type] pairs) as an OCI artifact of
    # artifact_type to repo, tagged tag (nil: by digest alone), referring to
    # the manifest subject (a digest in repo) when given; returns the
    # manifest's digest. Each file's base name becomes its title annotation.
    def artifact_push(repo, artifact_type:, files: [], tag: nil, subject: nil)
      pairs = files.map { |f| f.is_a?(Array) ? f : [f, nil] }
      paths = Registry.c_strings(pairs.map { |p, _| p.to_s })
      types = Registry.c_strings(pairs.map { |_, t| t })
      out_call(:take_string) do |h, out, e|
        Native.registry_artifact_push(h, repo, tag, artifact_type, subject, paths, types, pairs.size, out, e)
      end
    end
  end
end
