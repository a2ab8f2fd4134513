from django.contrib import admin
from django.urls import include, path

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
    path("api/v1/<path:rest>", not_found),
    path("", include("mentiondesk.desk.ops.urls")),
    path("webhooks/", include("mentiondesk.intake.webhooks.urls")),
    path("admin/", admin.site.urls),
]
