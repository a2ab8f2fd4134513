from django.contrib import admin
from django.urls import include, path, re_path

from mentiondesk.desk.api import api, not_found

urlpatterns = [
    path("", include("mentiondesk.desk.tickets.urls")),
    path("", include("mentiondesk.desk.replies.urls")),
    path("", include("mentiondesk.desk.incidents.urls")),
    path("accounts/", include("mentiondesk.desk.accounts.urls")),
    path("audit/", include("mentiondesk.desk.audit.urls")),
    path("reports/", include("mentiondesk.desk.reports.urls")),
    path("costs/", include("mentiondesk.desk.costs.urls")),
    path("demo/", include("mentiondesk.desk.demo_urls")),
    path("api/v1/", api.urls),
    # Any rest, newlines included (`<path:>` stops at one, which left Django's HTML 404).
    re_path(r"^api/v1/[\s\S]*\Z", not_found),
    path("", include("mentiondesk.desk.ops.urls")),
    path("webhooks/", include("mentiondesk.intake.webhooks.urls")),
    path("admin/", admin.site.urls),
]
