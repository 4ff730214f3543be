from django.urls import reverse


def test_not_found_page_is_friendly_and_uses_the_layout(client, seller):
    client.force_login(seller)
    response = client.get(reverse("contact_detail", args=[999999]))
    assert response.status_code == 404
    assert "not yours to see" in response.content.decode()


def test_home_shows_stage_counts_and_empty_activity(client, seller, make_contact):
    make_contact(seller, lifecycle_stage="customer")
    client.force_login(seller)
    html = client.get(reverse("home")).content.decode()
    assert "You have not logged any calls" in html
    assert f'{reverse("contact_list")}?stage=customer' in html


def test_password_change(client, seller):
    client.force_login(seller)
    response = client.post(reverse("password_change"), {
        "old_password": "correct horse battery staple", "new_password1": "a brand new passphrase 7",
        "new_password2": "a brand new passphrase 7"})
    assert response.status_code == 302
    seller.refresh_from_db()
    assert seller.check_password("a brand new passphrase 7")


def test_password_change_rejects_a_wrong_old_password(client, seller):
    client.force_login(seller)
    response = client.post(reverse("password_change"), {
        "old_password": "nope", "new_password1": "a brand new passphrase 7",
        "new_password2": "a brand new passphrase 7"})
    assert response.status_code == 200
    assert "old password was entered incorrectly" in response.content.decode()


def test_search_suggestions_need_two_characters(client, seller, make_contact):
    make_contact(seller, first_name="Zed")
    client.force_login(seller)
    html = client.get(reverse("search"), {"q": "z"}, HTTP_HX_REQUEST="true").content.decode()
    assert "at least two characters" in html
