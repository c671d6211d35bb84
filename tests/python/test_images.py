"""Images in the local cache (API.md §1.12): get, list, inspect, load, save, remove, prune,
and image sources at create."""

import os

import pytest

from conftest import IMAGE, cleanup, make_variant_image, unique_name
from microsandbox import (
    Image,
    ImageArchiveFormat,
    ImageDetail,
    ImageHandle,
    ImageInUseError,
    ImageNotFoundError,
    RootDisk,
    Sandbox,
    UnsupportedError,
)


async def test_get_list_and_inspect():
    handle = await Image.get(IMAGE)
    assert isinstance(handle, ImageHandle)
    assert handle.reference and handle.manifest_digest.startswith("sha256:")
    assert handle.layer_count >= 1 and handle.os == "linux" and handle.architecture
    assert any(h.manifest_digest == handle.manifest_digest for h in await Image.list())
    detail = await Image.inspect(IMAGE)
    assert isinstance(detail, ImageDetail) and detail.handle.reference == handle.reference
    assert len(detail.layers) == handle.layer_count
    assert all(l.blob_digest and l.diff_id.startswith("sha256:") for l in detail.layers)
    assert [l.position for l in detail.layers] == list(range(handle.layer_count))
    assert detail.config is not None and isinstance(detail.config.env, list)
    assert (await handle.inspect()).layers == detail.layers
    with pytest.raises(ImageNotFoundError):
        await Image.get("local/nothing-here:1")


async def test_load_save_remove_and_in_use(tmp_path, image_dir, sandbox_factory):
    layout = make_variant_image(image_dir, str(tmp_path / "layout"), {"etc/variant": "v1\n"})
    tag = f"local/{unique_name('img')}:v1"
    loaded = await Image.load(layout, tag=tag)
    assert any(h.reference.endswith(tag) for h in loaded)
    sb = await sandbox_factory("img", image=tag)
    assert (await sb.shell("cat /etc/variant")).stdout_text == "v1\n"
    with pytest.raises(ImageInUseError):
        await Image.remove(tag)

    archive = tmp_path / "variant.tar"
    await Image.save(tag, output_path=str(archive), format=ImageArchiveFormat.DOCKER)
    assert archive.stat().st_size > 0
    await sb.kill()
    await Sandbox.remove(await sb.name)
    await Image.remove(tag)
    with pytest.raises(ImageNotFoundError):
        await Image.get(tag)
    again = await Image.load(str(archive))
    assert any(h.reference.endswith(tag) for h in again)
    await Image.remove(tag)
    try:
        report = await Image.prune()  # every image no sandbox uses goes, busybox included
        assert report.image_refs_removed >= 1 and report.layers_removed >= 1
    finally:
        reloaded = await Image.load(image_dir, tag=IMAGE)
    assert any(h.reference.endswith(IMAGE) for h in reloaded)
    assert (await Image.get(IMAGE)).layer_count >= 1
    with pytest.raises(ImageNotFoundError):
        await Image.save("local/absent:1", output_path=str(tmp_path / "x.tar"))


async def test_image_source_with_a_bounded_upper(sandbox_factory):
    sb = await sandbox_factory("upper", image=Image.oci(IMAGE, upper_size_mib=64))
    out = await sb.shell("dd if=/dev/zero of=/root/fill bs=1M count=200 2>&1; echo rc=$?")
    assert "rc=0" not in out.stdout_text  # ENOSPC before 200 MiB
    sb2 = await sandbox_factory("upper2", image=Image.oci(IMAGE, root_disk=RootDisk.managed(32)))
    assert (await sb2.shell("echo ok")).stdout_text == "ok\n"


async def test_other_roots_are_unsupported(tmp_path):
    for image in (Image.bind(str(tmp_path)), Image.disk(str(tmp_path / "root.raw")),
                  Image.oci(IMAGE, root_disk=RootDisk.tmpfs(16)), str(tmp_path)):
        with pytest.raises(UnsupportedError):
            await Sandbox.create(unique_name("root"), image=image)
    assert os.path.isdir(tmp_path)
    await cleanup()
