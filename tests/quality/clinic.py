"""A small clinic's double reads, written as Label and Review rows, and its numbers worked
out by hand for the tests to check.

Alice and Bob (annotators) read seven slices of one series:
  s1  alice ivde                 bob ivde               Rita approves Bob's label
  s2  alice ivde                 bob ivdp               Rita corrects Alice's to ivdp
  s3  alice ivdp                 bob ivdp               Rita rejects Bob's label
  s4  alice unremarkable         bob unremarkable       Carol imports unremarkable
  s5  alice ivde+syringomyelia   bob ivde
  s6  alice can't tell           bob ivde               Rita approves Alice's can't tell
  s7  alice ivde                 (nobody else)          Carol imports ivdp
Dana read s1 as neoplasia and then withdrew it herself: no read.
"""

from annotator.labeling.models import Label
from annotator.review.models import Review
from tests.factories import make_series


def version(instance, reader, author=None, findings=(), cant_tell="", **extra) -> Label:
    """The next version of `reader`'s chain for the slice, written by `author`."""
    last = Label.objects.filter(instance=instance, reader=reader).order_by("-version").first()
    return Label.objects.create(
        instance=instance,
        reader=reader,
        author=author or reader,
        version=(last.version if last else 0) + 1,
        findings=list(findings),
        cant_tell=cant_tell,
        **extra,
    )


def build(alice, bob, rita, carol, dana) -> dict:
    s = list(make_series(slices=7).instances.order_by("instance_number"))
    reads = [
        (["ivde"], ["ivde"]),
        (["ivde"], ["ivdp"]),
        (["ivdp"], ["ivdp"]),
        (["unremarkable"], ["unremarkable"]),
        (["ivde", "syringomyelia"], ["ivde"]),
        (None, ["ivde"]),
    ]
    labels = {}
    for instance, (of_alice, of_bob) in zip(s, reads, strict=False):
        if of_alice is None:
            labels[("alice", instance.pk)] = version(instance, alice, cant_tell="artefact")
        else:
            labels[("alice", instance.pk)] = version(instance, alice, findings=of_alice)
        labels[("bob", instance.pk)] = version(instance, bob, findings=of_bob)
    labels[("alice", s[6].pk)] = version(s[6], alice, findings=["ivde"])
    version(s[0], dana, findings=["neoplasia"])
    version(s[0], dana, findings=["neoplasia"], withdrawn=True)

    Review.objects.create(label=labels[("bob", s[0].pk)], reviewer=rita, decision="approve")
    Review.objects.create(label=labels[("alice", s[5].pk)], reviewer=rita, decision="approve")
    version(s[1], alice, author=rita, findings=["ivdp"], source="review")
    version(s[2], bob, author=rita, findings=["ivdp"], source="review", withdrawn=True)
    version(s[3], carol, findings=["unremarkable"], source="import")
    version(s[6], carol, findings=["ivdp"], source="import")
    return {"slices": s, "labels": labels}
