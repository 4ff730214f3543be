def navigation(request):
    return {"nav_section": getattr(request, "nav_section", "")}
