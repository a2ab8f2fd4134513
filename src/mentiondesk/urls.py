from django.contrib import admin
from django.urls import include, path

from mentiondesk.api import api

urlpatterns = [
    path("", include("mentiondesk.tickets.urls")),
    path("", include("mentiondesk.replies.urls")),
    path("accounts/", include("mentiondesk.accounts.urls")),
    path("audit/", include("mentiondesk.audit.urls")),
    path("reports/", include("mentiondesk.reports.urls")),
    path("costs/", include("mentiondesk.costs.urls")),
    path("api/v1/", api.urls),
    path("", include("mentiondesk.ops.urls")),
    path("webhooks/", include("mentiondesk.webhooks.urls")),
    path("admin/", admin.site.urls),
]
