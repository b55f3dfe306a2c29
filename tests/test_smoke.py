"""The app starts, asks anonymous users to sign in, and lets a signed-in employee in."""


def test_anonymous_home_redirects_to_login(client):
    """An anonymous visitor to the home page is sent to the sign-in page."""
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_employee_signs_in_and_sees_home(client, create_employee, login):
    """An employee with a password signs in and sees their own name on the home page."""
    employee = create_employee(name="张三")
    response = login(employee)
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "张三" in page
