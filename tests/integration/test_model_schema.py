"""A title uploaded with a genre the served ranker never saw does not break ranking (the model carries its schema)."""
from __future__ import annotations

import io


def test_a_title_with_a_new_genre_keeps_recommends_answering(api_url, http, store):
    new_id = 2_000_000_123
    row = f"anime_id,name,genre,type,episodes,rating,members\n{new_id},Schema Test,Brand-New-Genre,TV,12,7.0,10\n"
    uploaded = http.post(f"{api_url}/upload", data={"dataset": "anime"},
                         files={"file": ("new.csv", io.BytesIO(row.encode()), "text/csv")}, timeout=120)
    assert uploaded.status_code == 200 and uploaded.json()["rows_loaded"] == 1
    assert "Brand-New-Genre" in store.get_anime(new_id)["genres"]
    # Every worker that took the upload serves the grown catalog at once; ask often enough to meet each one.
    answers = [http.get(f"{api_url}/recommends/3?k=10", timeout=30) for _ in range(8)]
    assert [a.status_code for a in answers] == [200] * 8
    assert all(len(a.json()["items"]) == 10 for a in answers)
