"""/media/<name>: stored image files are served to signed-in people who may see them, as the image format
their bytes are in (never as a page or a script), under a name that carries that format."""

from __future__ import annotations

import io
import urllib.request
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from apps.datasets.models import Image
from apps.datasets.services import UnsupportedFormat, image_create
from tests.integration.test_storage_s3 import s3, s3_endpoint  # noqa: F401 - the moto_server bucket
from tests.polyglots import png_with_text, polyglot_gif

pytestmark = pytest.mark.django_db


def test_a_member_gets_the_image_file(item: Any, annotator: Any, client: Any) -> None:
    client.force_login(annotator)

    response = client.get(item.image.file.url)

    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_an_anonymous_visitor_is_sent_to_log_in(item: Any, client: Any) -> None:
    response = client.get(item.image.file.url)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_missing_file_is_not_found(item: Any, annotator: Any, client: Any) -> None:
    client.force_login(annotator)

    assert client.get("/media/datasets/nothing-here.png").status_code == 404


@pytest.mark.parametrize("name", ["../../etc/passwd", "datasets/%2e%2e/%2e%2e/%2e%2e/etc/passwd"])
def test_a_name_that_climbs_out_of_the_storage_is_refused(annotator: Any, client: Any, name: str) -> None:
    client.force_login(annotator)

    response = client.get(f"/media/{name}")

    assert response.status_code in (400, 404)
    assert b"root:" not in b"".join(getattr(response, "streaming_content", [response.content]))


def test_a_non_member_cannot_fetch_a_jobs_image(item: Any, outsider: Any, client: Any) -> None:
    client.force_login(outsider)

    response = client.get(item.image.file.url)

    assert response.status_code == 404


# What a stored file is served as ---------------------------------------------------------------------------

MEDIA_POLICY = "default-src 'none'; sandbox"


def image_bytes(fmt: str) -> bytes:
    data = io.BytesIO()
    PILImage.new("RGB", (9, 7), (10, 20, 30)).save(data, format=fmt)
    return data.getvalue()


@pytest.mark.parametrize(
    ("fmt", "path", "stored"),
    [
        ("PNG", "y.html", "y.html.png"),
        ("PNG", "page.svg", "page.svg.png"),
        ("PNG", "noext", "noext.png"),
        ("JPEG", "x.js", "x.js.jpg"),
        ("JPEG", "photo.jpeg", "photo.jpeg"),
        ("JPEG", "PHOTO.JPG", "PHOTO.JPG"),
        ("JPEG", "photo.png", "photo.png.jpg"),
        ("GIF", "p2.js", "p2.js.gif"),
        ("WEBP", "a.xhtml", "a.xhtml.webp"),
        ("BMP", "b.bmp", "b.bmp"),
        ("TIFF", "scan.tif", "scan.tif"),
        ("TIFF", "scan.htm", "scan.htm.tiff"),
    ],
)
def test_a_stored_image_is_named_for_the_format_its_bytes_are_in(
    fmt: str, path: str, stored: str, dataset: Any
) -> None:
    image = image_create(dataset=dataset, path=f"sub/{path}", content=image_bytes(fmt))

    assert image.file.name == f"datasets/{dataset.pk}/sub/{stored}"
    assert (image.path, image.name) == (f"sub/{path}", path)  # as given: labeled imports match on them
    assert image.thumbnail.name.endswith(".jpg")


def test_a_stored_name_with_the_extension_added_stays_within_255_bytes(dataset: Any) -> None:
    image = image_create(dataset=dataset, path="x" * 255, content=image_bytes("PNG"))

    assert image.file.name.endswith(".png")
    assert len(image.file.name.rsplit("/", 1)[1].encode()) <= 255


def test_an_image_in_a_format_no_browser_shows_is_refused(dataset: Any) -> None:
    with pytest.raises(UnsupportedFormat, match="PPM"):
        image_create(dataset=dataset, path="picture.ppm", content=image_bytes("PPM"))

    assert not dataset.images.filter(path="picture.ppm").exists()


def stored_before(dataset: Any, name: str, content: bytes) -> Image:
    """An image stored under `name` as it is, as images were before names carried their format."""
    default_storage.save(f"datasets/{dataset.pk}/{name}", ContentFile(content))
    return Image.objects.create(
        dataset=dataset, file=f"datasets/{dataset.pk}/{name}", name=name, path=name, width=8, height=8
    )


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("y.html", png_with_text('<script src="p2.js"></script>'), "image/png"),
        ("p2.js", polyglot_gif("document.title='ran'"), "image/gif"),
        ("z.svg", image_bytes("JPEG"), "image/jpeg"),
        ("w.png", image_bytes("WEBP"), "image/webp"),
    ],
    ids=["png-as-html", "gif-js-polyglot", "jpeg-as-svg", "webp-as-png"],
)
def test_a_file_is_served_as_the_format_of_its_bytes_whatever_its_name(
    dataset: Any, staff: Any, client: Any, name: str, content: bytes, content_type: str
) -> None:
    image = stored_before(dataset, name, content)
    client.force_login(staff)

    response = client.get(image.file.url)

    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert b"".join(response.streaming_content) == content
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == MEDIA_POLICY


def test_a_stored_file_in_no_image_format_is_only_offered_for_download(
    dataset: Any, staff: Any, client: Any
) -> None:
    image = stored_before(dataset, "page.html", b"<script>document.title='ran'</script>")
    client.force_login(staff)

    response = client.get(image.file.url)

    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["Content-Security-Policy"] == MEDIA_POLICY


@pytest.mark.parametrize(
    ("who", "statuses"), [("annotator", [200, 404]), ("outsider", [404, 404]), (None, [302, 302])]
)
def test_every_media_answer_forbids_sniffing_and_scripts(
    request: Any, item: Any, client: Any, who: str | None, statuses: list[int]
) -> None:
    if who:
        client.force_login(request.getfixturevalue(who))

    answers = [client.get(item.image.file.url), client.get("/media/datasets/nothing-here.html")]

    assert [answer.status_code for answer in answers] == statuses
    for answer in answers:
        assert answer["Content-Security-Policy"] == MEDIA_POLICY
        assert answer["X-Content-Type-Options"] == "nosniff"


def test_uploaded_polyglots_are_stored_and_served_as_the_images_they_also_are(
    dataset: Any, staff: Any, client: Any
) -> None:
    script = image_create(dataset=dataset, path="p2.js", content=polyglot_gif("document.title='ran'"))
    page = image_create(
        dataset=dataset,
        path="y.html",
        content=png_with_text(f'<script src="/media/datasets/{dataset.pk}/p2.js"></script>'),
    )
    client.force_login(staff)

    assert script.file.name == f"datasets/{dataset.pk}/p2.js.gif"
    assert page.file.name == f"datasets/{dataset.pk}/y.html.png"
    assert client.get(script.file.url)["Content-Type"] == "image/gif"
    assert client.get(page.file.url)["Content-Type"] == "image/png"
    for name_as_uploaded in ("p2.js", "y.html"):
        assert client.get(f"/media/datasets/{dataset.pk}/{name_as_uploaded}").status_code == 404


# Behind nginx: the file is handed over with X-Accel-Redirect ------------------------------------------------

ACCEL = "/_polylog_media/"


@pytest.fixture
def accel(settings: Any) -> None:
    settings.POLYLOG = {**settings.POLYLOG, "MEDIA_ACCEL_PREFIX": ACCEL}


def test_behind_nginx_a_member_gets_an_accel_redirect_with_the_media_headers_and_no_body(
    accel: None, dataset: Any, staff: Any, client: Any
) -> None:
    image = stored_before(dataset, "y.html", png_with_text('<script src="p2.js"></script>'))
    client.force_login(staff)

    response = client.get(image.file.url)

    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"{ACCEL}datasets/{dataset.pk}/y.html"
    assert response.content == b"", "nginx sends the bytes, not Django"
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'inline; filename="y.html.png"'
    assert response["Content-Security-Policy"] == MEDIA_POLICY
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "X-Polylog-Media-Url" not in response, "files on local storage are read by nginx from disk"


def test_behind_nginx_a_file_in_no_image_format_is_still_a_download(
    accel: None, dataset: Any, staff: Any, client: Any
) -> None:
    image = stored_before(dataset, "page.html", b"<script>document.title='ran'</script>")
    client.force_login(staff)

    response = client.get(image.file.url)

    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="page.html"'
    assert response["Content-Security-Policy"] == MEDIA_POLICY


def test_behind_nginx_the_path_handed_over_is_percent_encoded(
    accel: None, dataset: Any, staff: Any, client: Any
) -> None:
    image = stored_before(dataset, "a b#?%.png", image_bytes("PNG"))
    client.force_login(staff)

    response = client.get(image.file.url)

    assert response["X-Accel-Redirect"] == f"{ACCEL}datasets/{dataset.pk}/a%20b%23%3F%25.png"


@pytest.mark.parametrize(("who", "status"), [("outsider", 404), (None, 302)])
def test_behind_nginx_nothing_is_handed_over_before_the_permission_check(
    accel: None, request: Any, item: Any, client: Any, who: str | None, status: int
) -> None:
    if who:
        client.force_login(request.getfixturevalue(who))

    response = client.get(item.image.file.url)

    assert response.status_code == status
    assert "X-Accel-Redirect" not in response
    assert response["Content-Security-Policy"] == MEDIA_POLICY


@pytest.mark.usefixtures("s3")
def test_behind_nginx_with_s3_the_answer_carries_the_objects_signed_url_for_nginx_to_fetch(
    accel: None, settings: Any, dataset: Any, staff: Any, client: Any
) -> None:
    image = image_create(dataset=dataset, path="shelf/cat.png", content=image_bytes("PNG"))
    client.force_login(staff)

    response = client.get(f"/media/{image.file.name}")

    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"{ACCEL}{image.file.name}"
    signed = response["X-Polylog-Media-Url"]
    bucket = settings.STORAGES["default"]["OPTIONS"]
    assert signed.startswith(f"{bucket['endpoint_url']}/{bucket['bucket_name']}/{image.file.name}?")
    assert urllib.request.urlopen(signed, timeout=10).read() == image_bytes("PNG")  # noqa: S310 - loopback
    assert (response["Content-Type"], response["Content-Security-Policy"]) == ("image/png", MEDIA_POLICY)
