"""Product and category pages. Thin: parse the request, call a selector or service, render.

Every signed-in user browses the catalogue; the buttons that change it appear for admins and
managers, and the services refuse everyone else (403) whatever the page showed.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from rapport.core.errors import NotAllowed, NotVisible, ValidationFailed
from rapport.core.pagination import capped_count, keyset_page
from rapport.core.selectors import audit_history

from ...currencies import CURRENCIES, format_money
from ...selectors import products as selectors
from ...services import products as services
from .forms import CategoryForm, ProductForm

LIST_PARAMS = ("q", "category", "active", "sort")


def _page_size(request: HttpRequest) -> int:
    try:
        return max(10, min(200, int(request.GET.get("size", 50))))
    except ValueError:
        return 50


def _query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _price_labels(product) -> list[str]:
    return [format_money(p.unit_price, p.currency) for p in product.prices.all()]


def _get_product(request: HttpRequest, product_id: int):
    try:
        return selectors.get_product(request.user, product_id)
    except NotVisible as exc:
        raise Http404("No such product") from exc


def _require_keeper(request: HttpRequest) -> None:
    if not selectors.may_manage_products(request.user):
        raise PermissionDenied("Only admins and managers change the product catalogue.")


def _common(request: HttpRequest, **context) -> dict:
    keeper = selectors.may_manage_products(request.user)
    return {"can_manage": keeper, "is_keeper": keeper, "currencies": CURRENCIES, **context}


@login_required
def product_list(request: HttpRequest) -> HttpResponse:
    request.nav_section = "products"
    params = {k: request.GET.get(k, "") for k in LIST_PARAMS}
    error = None
    try:
        page = selectors.list_products(request.user, params, cursor=request.GET.get("cursor"),
                                       size=_page_size(request))
        total, more = capped_count(selectors.filter_products(request.user, params))
    except ValidationFailed as exc:
        page, total, more, error = None, 0, False, exc.errors
    rows = [(p, _price_labels(p)) for p in page.items] if page else []
    return render(request, "sales/products/product_list.html", _common(
        request, page=page, rows=rows, params=params, error=error, total=total, more=more,
        categories=selectors.categories(request.user), base_query=_query_without(request, "cursor"),
        filtered=any(v for k, v in params.items() if k != "sort" and v),
    ))


def _form_status(request: HttpRequest, form) -> int:
    return 422 if request.method == "POST" and form.errors else 200


@login_required
def product_create(request: HttpRequest) -> HttpResponse:
    request.nav_section = "products"
    _require_keeper(request)
    form = ProductForm(request.POST or None, categories=selectors.categories(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            product = services.create_product(actor=request.user, data=form.service_data())
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from exc
        else:
            messages.success(request, f"Product {product.sku} created.")
            return redirect("product_detail", product_id=product.pk)
    return render(request, "sales/products/product_form.html", _common(request, form=form, product=None),
                  status=_form_status(request, form))


@login_required
def product_edit(request: HttpRequest, product_id: int) -> HttpResponse:
    request.nav_section = "products"
    _require_keeper(request)
    product = _get_product(request, product_id)
    initial = {"sku": product.sku, "name": product.name, "category": product.category_id,
               "active": product.active, "description": product.description}
    prices = {code: str(amount) for code, amount in selectors.prices_of(product).items()}
    form = ProductForm(request.POST or None, initial=initial, prices=prices,
                       categories=selectors.categories(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_product(actor=request.user, product=product, data=form.service_data())
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from exc
        else:
            messages.success(request, "Changes saved.")
            return redirect("product_detail", product_id=product.pk)
    return render(request, "sales/products/product_form.html", _common(request, form=form, product=product),
                  status=_form_status(request, form))


@login_required
def product_detail(request: HttpRequest, product_id: int) -> HttpResponse:
    request.nav_section = "products"
    product = _get_product(request, product_id)
    return render(request, "sales/products/product_detail.html", _common(
        request, product=product, prices=_price_labels(product), audit=audit_history(product),
    ))


@login_required
@require_POST
def product_set_active(request: HttpRequest, product_id: int) -> HttpResponse:
    product = _get_product(request, product_id)
    active = request.POST.get("active") == "1"
    try:
        if active:
            services.activate_product(actor=request.user, product=product)
        else:
            services.deactivate_product(actor=request.user, product=product)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    messages.success(request, f"{product.sku} is {'active again' if active else 'no longer offered'}.")
    return redirect("product_detail", product_id=product.pk)


@login_required
@require_POST
def product_delete(request: HttpRequest, product_id: int) -> HttpResponse:
    product = _get_product(request, product_id)
    try:
        services.delete_product(actor=request.user, product=product)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    messages.success(request, f"{product} moved to the trash. Restore it from Products → Trash.")
    return redirect("product_list")


@login_required
def product_trash(request: HttpRequest) -> HttpResponse:
    request.nav_section = "products"
    _require_keeper(request)
    try:
        page = keyset_page(selectors.trashed_products(request.user), order="-deleted_at",
                           cursor=request.GET.get("cursor"), size=50)
    except ValidationFailed as exc:
        raise Http404("No such page") from exc
    return render(request, "sales/products/product_trash.html", _common(request, page=page))


@login_required
@require_POST
def product_restore(request: HttpRequest, product_id: int) -> HttpResponse:
    try:
        product = services.restore_product(actor=request.user, product_id=product_id)
    except NotAllowed as exc:
        if not selectors.may_manage_products(request.user):
            raise PermissionDenied(str(exc)) from exc
        raise Http404("No such product in the trash") from exc
    except ValidationFailed as exc:
        messages.error(request, "Could not restore: " + "; ".join(exc.errors.values()))
        return redirect("product_trash")
    messages.success(request, f"{product} restored.")
    return redirect("product_detail", product_id=product.pk)


# --- categories ---------------------------------------------------------------------------------

@login_required
def product_categories(request: HttpRequest) -> HttpResponse:
    """The category list; admins and managers add categories here."""
    request.nav_section = "products"
    form = CategoryForm(request.POST or None)
    if request.method == "POST":
        _require_keeper(request)
        if form.is_valid():
            try:
                category = services.create_category(actor=request.user, name=form.cleaned_data["name"])
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Category {category.name} added.")
                return redirect("product_categories")
    return render(request, "sales/products/categories.html", _common(
        request, form=form, categories=selectors.categories(request.user, with_counts=True),
    ), status=_form_status(request, form))


def _get_category(request: HttpRequest, category_id: int):
    try:
        return selectors.get_category(request.user, category_id)
    except NotVisible as exc:
        raise Http404("No such category") from exc


@login_required
@require_POST
def product_category_rename(request: HttpRequest, category_id: int) -> HttpResponse:
    category = _get_category(request, category_id)
    try:
        services.rename_category(actor=request.user, category=category, name=request.POST.get("name", ""))
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except ValidationFailed as exc:
        messages.error(request, f"Could not rename {category.name}: " + "; ".join(exc.errors.values()))
    else:
        messages.success(request, "Category renamed.")
    return redirect("product_categories")


@login_required
@require_POST
def product_category_delete(request: HttpRequest, category_id: int) -> HttpResponse:
    category = _get_category(request, category_id)
    try:
        services.delete_category(actor=request.user, category=category)
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except ValidationFailed as exc:
        messages.error(request, "Could not delete: " + "; ".join(exc.errors.values()))
    else:
        messages.success(request, f"Category {category.name} deleted.")
    return redirect("product_categories")
