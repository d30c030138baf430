"""How the scheduler cuts claims into broker messages (pure)."""
from delivery.scheduler import batches


def claims(brand_id, n, start=0):
    return [(start + i, f"t{start + i}", brand_id) for i in range(n)]


def test_a_busy_brand_is_cut_into_a_piece_per_worker_process():
    messages = batches(claims(1, 64), size=50, processes=2)
    assert [len(m) for m in messages] == [32, 32]
    assert messages[0][0] == (0, "t0")            # id and lease token only


def test_one_process_gets_messages_of_the_batch_size():
    assert [len(m) for m in batches(claims(1, 64), size=50, processes=1)] == [50, 14]


def test_brands_with_a_little_due_share_messages_but_a_brands_pieces_never_do():
    many = [c for b in range(10) for c in claims(b, 1, start=b)]
    assert [len(m) for m in batches(many, size=20, processes=2)] == [10]
    # Two brands with 4 due each, 2 processes: pieces of 2, one piece of each per message.
    messages = batches(claims(1, 4) + claims(2, 4, start=100), size=20, processes=2)
    assert [sorted(i for i, _ in m) for m in messages] == [[0, 1, 100, 101], [2, 3, 102, 103]]
