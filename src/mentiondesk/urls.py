from django.contrib import admin
from django.urls import include, path

from mentiondesk.api import api, not_found

urlpatterns = [
    path("", include("mentiondesk.tickets.urls")),
    path("", include("mentiondesk.replies.urls")),
    path("", include("mentiondesk.incidents.urls")),
    path("accounts/", include("mentiondesk.accounts.urls")),
    path("audit/", include("mentiondesk.audit.urls")),
    path("reports/", include("mentiondesk.reports.urls")),
    path("costs/", include("mentiondesk.costs.urls")),
    path("api/v1/", api.urls),
    path("api/v1/<path:rest>", not_found),
    path("", include("mentiondesk.ops.urls")),
    path("webhooks/", include("mentiondesk.webhooks.urls")),
    path("admin/", admin.site.urls),
]
