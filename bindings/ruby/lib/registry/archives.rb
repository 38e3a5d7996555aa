# frozen_string_literal: true

# Image archives: one image pulled into a docker-archive (what `docker save`
# writes, `docker load` reads) or an oci-archive (a tar of an OCI layout),
# and several images saved into one docker-archive.
module Registry
  module Native
    attach_function :registry_image_pull_archive,
                    %i[pointer string string pointer string string registry_progress_fn pointer pointer err_out],
                    :status, blocking: true
    attach_function :registry_image_save,
                    %i[pointer pointer pointer size_t pointer string registry_progress_fn pointer pointer err_out],
                    :status, blocking: true
    attach_function :registry_image_push_archive_with,
                    %i[pointer string string string string pointer registry_progress_fn pointer pointer err_out],
                    :status, blocking: true
    attach_function :registry_image_push_archive,
                    %i[pointer string string string string registry_progress_fn pointer pointer err_out],
                    :status, blocking: true
  end

  ARCHIVE_FORMATS = %w[docker-archive oci-archive].freeze

  class Client
    # Pushes the image of the archive file at path to repo:tag and returns
    # the digest pushed. Either format, told by its content: an oci-archive
    # is pushed byte for byte (ref: its image's ref.name or digest); a
    # docker-archive (docker save, skopeo) gets an OCI manifest for its
    # layers as stored (ref: one of its RepoTags, or "@N"). ref: nil: the
    # archive's only image. The archive is untrusted: links, devices,
    # climbing names and lying sizes raise InvalidArgument before anything
    # is sent. compress: "gzip" pushes a docker-archive's uncompressed layers
    # gzip-compressed (an oci-archive, pushed byte for byte, raises
    # InvalidArgument). platform: one image of an oci-archive's index. The
    # block hears progress as for #push.
    def push_archive(path, repo, tag, ref: nil, compress: nil, platform: nil, &progress)
      with_handle do |h|
        Registry.with_transfer_options(platform, false, compress: compress) do |opts|
          image_call(progress) do |cb, out, e|
            Native.registry_image_push_archive_with(h, path.to_s, ref, repo, tag, opts, cb, nil, out, e)
          end
        end
      end
    end

    # Pulls repo:reference (a tag or digest) into one archive file at path
    # and returns the digest of the manifest (or index) it holds. format:
    # "docker-archive" (manifest.json with Config, RepoTags
    # ["host:port/repo:tag"], Layers; one platform: platform:, else
    # linux/amd64) or "oci-archive" (a tar of an OCI layout, digests kept: an
    # index whole, or the platforms given). platform: one "os/arch[/variant]"
    # or an Array of them (two or more: a new index of just those, in an
    # oci-archive only); referrers: true carries signatures and SBOMs (in an
    # oci-archive only). Blobs stream from the registry into the archive,
    # each verified; the file appears at path only once whole (after a
    # failure, a cancel, or an exception in the block, nothing is there).
    # The block hears progress as for #pull.
    def pull_archive(repo, reference, path, format: "docker-archive", platform: nil, referrers: false, &progress)
      with_handle do |h|
        Registry.with_transfer_options(platform, referrers) do |opts|
          image_call(progress) do |cb, out, e|
            Native.registry_image_pull_archive(h, repo, reference, opts, path.to_s, format.to_s, cb, nil, out, e)
          end
        end
      end
    end

    # Saves images (each [repo, reference], or "repo:tag" / "repo@digest")
    # into one docker-archive at path, as `docker save` does: each with its
    # RepoTags, shared blobs once, written atomically as #pull_archive
    # writes. Returns the manifest digest of each image, in order.
    def save(images, path, platform: nil, &progress)
      pairs = images.map { |i| i.is_a?(Array) ? i.map(&:to_s) : Registry.split_image(i.to_s) }
      repos = Registry.c_strings(pairs.map(&:first))
      refs = Registry.c_strings(pairs.map(&:last))
      with_handle do |h|
        Registry.with_transfer_options(platform, false) do |opts|
          image_call(progress, :take_list) do |cb, out, e|
            Native.registry_image_save(h, repos, refs, pairs.size, opts, path.to_s, cb, nil, out, e)
          end
        end
      end
    end
  end

  # "repo:tag" or "repo@digest" as [repo, reference] (no tag: "latest").
  def self.split_image(image)
    return image.split("@", 2) if image.include?("@")

    slash = image.rindex("/") || -1
    colon = image.rindex(":")
    return [image[0...colon], image[(colon + 1)..]] if colon && colon > slash

    [image, "latest"]
  end
end
