"""Visible tests: run them from the editor. The hidden suite checks much more."""

from faultkit import reply

QUESTION = {"question": "Does retrieval reduce hallucination?"}


def test_answer_keeps_old_fields(app, provider):
    """the answer endpoint still returns answer and sources"""
    provider.script(reply("Retrieval helps [p1]."))
    response = app.post("/api/answer", json=QUESTION)
    assert response.status_code == 200
    assert response.json()["answer"] == "Retrieval helps [p1]."
    assert response.json()["sources"]


def test_answer_has_model_metadata(app, provider):
    """the answer carries metadata with the model that answered"""
    provider.script(reply(model="fake-model-2024"))
    response = app.post("/api/answer", json=QUESTION)
    assert response.status_code == 200
    assert response.json().get("metadata", {}).get("model") == "fake-model-2024"
