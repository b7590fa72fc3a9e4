"""REST views of the labeling core: parse, authorise, call one service or selector, serialise."""

from __future__ import annotations

import time
from contextlib import nullcontext

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common import metrics
from apps.common.api import body, errors, valid
from apps.common.errors import ApiError
from apps.common.pagination import Pagination
from apps.common.planning import planned_for_values

from .. import live, selectors, services
from ..domain import Rejected, state_view
from ..domain.envelope import InvalidEnvelope, parse_command_envelope
from ..models import Item, ItemDeletion, JobMember, LabelClass
from ..permissions import MANAGE, READ, item_for, job_for, job_role
from . import serializers as s


class JobList(APIView):
    @extend_schema(responses={200: s.JobSerializer(many=True), **errors()})
    def get(self, request: Request) -> Response:
        jobs = selectors.job_list(user=request.user)
        roles = dict(JobMember.objects.filter(user=request.user).values_list("job_id", "role"))
        if request.user.is_staff:
            roles = {job.pk: "manager" for job in jobs}
        return Response(s.JobSerializer(jobs, many=True, context={"roles": roles}).data)

    @extend_schema(request=s.JobCreateSerializer, responses={201: s.JobSerializer, **errors(400, 403)})
    def post(self, request: Request) -> Response:
        if not (request.user.is_staff or request.user.has_perm("labeling.add_labelingjob")):
            raise ApiError(403, "permission_denied", "Only staff and job creators may create jobs.")
        data = valid(s.JobCreateSerializer, body(request), context={"request": request})
        job = services.job_create(created_by=request.user, **data)
        job = selectors.job_list(user=request.user).get(pk=job.pk)
        return Response(s.JobSerializer(job, context={"roles": {job.pk: "manager"}}).data, status=201)


class JobDetail(APIView):
    @extend_schema(responses={200: s.JobSerializer, **errors()})
    def get(self, request: Request, job_id: int) -> Response:
        job, role = job_for(request.user, job_id)
        job = selectors.job_list(user=request.user).get(pk=job.pk)
        return Response(s.JobSerializer(job, context={"roles": {job.pk: role}}).data)

    @extend_schema(request=s.JobUpdateSerializer, responses={200: s.JobSerializer, **errors(400, 403)})
    def patch(self, request: Request, job_id: int) -> Response:
        job, role = job_for(request.user, job_id, MANAGE)
        services.job_update(job=job, **valid(s.JobUpdateSerializer, body(request)))
        job = selectors.job_list(user=request.user).get(pk=job.pk)
        return Response(s.JobSerializer(job, context={"roles": {job.pk: role}}).data)


class JobSync(APIView):
    @extend_schema(request=None, responses={200: s.SyncResultSerializer, **errors(403)})
    def post(self, request: Request, job_id: int) -> Response:
        job, _ = job_for(request.user, job_id, MANAGE)
        return Response(services.job_sync(job=job))


class MemberList(APIView):
    @extend_schema(responses={200: s.MemberSerializer(many=True), **errors()})
    def get(self, request: Request, job_id: int) -> Response:
        job, _ = job_for(request.user, job_id)
        members = JobMember.objects.filter(job=job).select_related("user")
        return Response(s.MemberSerializer(members, many=True).data)

    @extend_schema(
        request=s.MemberSetSerializer,
        responses={200: s.MemberSerializer, 201: s.MemberSerializer, **errors(400, 403)},
    )
    def post(self, request: Request, job_id: int) -> Response:
        job, _ = job_for(request.user, job_id, MANAGE)
        data = valid(s.MemberSetSerializer, body(request))
        existed = JobMember.objects.filter(job=job, user=data["username"]).exists()
        member = services.job_member_set(job=job, user=data["username"], role=data["role"], by=request.user)
        return Response(s.MemberSerializer(member).data, status=200 if existed else 201)


class MemberDetail(APIView):
    @extend_schema(responses={204: None, **errors(403, 409)})
    def delete(self, request: Request, job_id: int, member_id: int) -> Response:
        job, _ = job_for(request.user, job_id, MANAGE)
        services.job_member_remove(
            member=get_object_or_404(JobMember, job=job, pk=member_id), by=request.user
        )
        return Response(status=204)


class LabelClassList(APIView):
    @extend_schema(responses={200: s.LabelClassSerializer(many=True), **errors()})
    def get(self, request: Request, job_id: int) -> Response:
        job, _ = job_for(request.user, job_id)
        return Response(s.LabelClassSerializer(LabelClass.objects.filter(job=job), many=True).data)

    @extend_schema(
        request=s.LabelClassSerializer, responses={201: s.LabelClassSerializer, **errors(400, 403, 409)}
    )
    def post(self, request: Request, job_id: int) -> Response:
        job, _ = job_for(request.user, job_id, MANAGE)
        data = valid(s.LabelClassSerializer, body(request))
        label_class = services.label_class_create(
            job=job, name=data["name"], color=data["color"], attributes=data.get("attributes")
        )
        return Response(s.LabelClassSerializer(label_class).data, status=201)


class LabelClassDetail(APIView):
    def _get(self, request: Request, job_id: int, label_class_id: int, need: str) -> LabelClass:
        job, _ = job_for(request.user, job_id, need)
        return get_object_or_404(LabelClass, job=job, pk=label_class_id)

    @extend_schema(responses={200: s.LabelClassSerializer, **errors()})
    def get(self, request: Request, job_id: int, label_class_id: int) -> Response:
        return Response(s.LabelClassSerializer(self._get(request, job_id, label_class_id, READ)).data)

    @extend_schema(
        request=s.LabelClassSerializer, responses={200: s.LabelClassSerializer, **errors(400, 403, 409)}
    )
    def patch(self, request: Request, job_id: int, label_class_id: int) -> Response:
        label_class = self._get(request, job_id, label_class_id, MANAGE)
        data = valid(s.LabelClassSerializer, body(request), partial=True)
        label_class = services.label_class_update(label_class=label_class, **data)
        return Response(s.LabelClassSerializer(label_class).data)

    @extend_schema(
        parameters=[OpenApiParameter("cascade", bool, description="also delete the shapes that use it")],
        responses={204: None, **errors(400, 403, 409)},
    )
    def delete(self, request: Request, job_id: int, label_class_id: int) -> Response:
        label_class = self._get(request, job_id, label_class_id, MANAGE)
        cascade = valid(s.LabelClassDeleteSerializer, request.query_params)["cascade"]
        services.label_class_delete(label_class=label_class, actor_id=request.user.pk, cascade=cascade)
        return Response(status=204)


class ItemList(APIView):
    @extend_schema(
        parameters=[
            s.ItemListQuerySerializer,
            OpenApiParameter("page", int, description="page number, from 1"),
            OpenApiParameter("page_size", int, description="items per page (default 50, at most 500)"),
        ],
        responses={200: s.ItemPageSerializer, **errors(400)},
    )
    def get(self, request: Request, job_id: int) -> Response:
        job, _ = job_for(request.user, job_id)
        query = valid(s.ItemListQuerySerializer, request.query_params)
        items = selectors.item_list_for(job, query, request.user)
        # A search's plan depends on its pattern: never the generic plan of a prepared statement.
        with planned_for_values() if query.get("q") else nullcontext():
            paginator = Pagination(count=selectors.item_list_count(job_id=job.pk, query=query))
            page = selectors.item_page_decorate(list(paginator.paginate_queryset(items, request, view=self)))
        response = paginator.get_paginated_response(s.ItemSerializer(page, many=True).data)
        response.data.update(selectors.job_counts(job_id=job.pk))
        return response


class ItemStateView(APIView):
    @extend_schema(parameters=[s.StateQuerySerializer], responses={200: s.ItemStateSerializer, **errors(400)})
    def get(self, request: Request, item_id: int) -> Response:
        item, _ = item_for(request.user, item_id)
        query = valid(s.StateQuerySerializer, request.query_params)
        state = selectors.item_state_get(item=item, at_seq=query.get("at_seq"), at_time=query.get("at_time"))
        return Response(state_view(state, item.pk))


class ItemEvents(APIView):
    @extend_schema(
        parameters=[s.EventsQuerySerializer], responses={200: s.EventPageSerializer, **errors(400)}
    )
    def get(self, request: Request, item_id: int) -> Response:
        item, _ = item_for(request.user, item_id)
        query = valid(s.EventsQuerySerializer, request.query_params)
        events = selectors.item_events(item=item, after=query["after"], limit=query["limit"])
        more = bool(events) and events[-1]["seq"] < item.last_seq
        return Response(
            {"results": events, "last_seq": item.last_seq, "next_after": events[-1]["seq"] if more else None}
        )


class ItemCommands(APIView):
    @extend_schema(
        request=s.CommandRequestSerializer,
        responses={
            201: s.CommandResultSerializer,
            200: OpenApiResponse(
                s.CommandResultSerializer, description="a retried command_id: the original answer"
            ),
            **errors(400, 403, 409, 422, 503),
        },
    )
    def post(self, request: Request, item_id: int) -> Response:
        # Parsed here, authorised and decided in the service, as a websocket command is.
        received = time.perf_counter()
        try:
            envelope = parse_command_envelope(body(request))
            result = services.item_command_handle(
                item_id=item_id,
                actor_id=request.user.pk,
                command=envelope.command,
                command_id=envelope.command_id,
                expected_seq=envelope.expected_seq,
            )
        except InvalidEnvelope as bad:
            metrics.command_refused("rest", "invalid_request")
            raise ValidationError({bad.field: [bad.message]}) from None  # a 400 that names the field
        except Rejected as rejected:
            metrics.command_refused("rest", rejected.code)
            return Response(rejected.as_dict(), status=rejection_status(rejected.code))
        except ApiError as refused:  # not found, permission denied: answered by the exception handler
            metrics.command_refused("rest", refused.code)
            raise
        live.publish_on_commit(result.broadcasts)
        metrics.command_acked("rest", time.perf_counter() - received)
        return Response(
            result.body(), status=status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED
        )


def rejection_status(code: str) -> int:
    if code == "invalid_command":
        return 400
    if code == "seq_conflict":
        return 409
    return 422


class ItemsDelete(APIView):
    @extend_schema(
        request=s.ItemsDeleteSerializer, responses={200: s.ItemsDeletedSerializer, **errors(400, 403, 409)}
    )
    def post(self, request: Request) -> Response:
        data = valid(s.ItemsDeleteSerializer, body(request))
        ids = sorted(set(data["item_ids"]))
        items = list(Item.objects.filter(pk__in=ids, deleted_at__isnull=True).select_related("image"))
        roles = {job_id: job_role(request.user, job_id) for job_id in {item.job_id for item in items}}
        # Items of jobs the user is not in look exactly like items that do not exist.
        visible = {item.pk for item in items if roles[item.job_id] is not None}
        missing = [pk for pk in ids if pk not in visible]
        if missing:
            raise ApiError(404, "not_found", f"No such item (or already deleted): {missing[:20]}.")
        for job_id in roles:
            job_for(request.user, job_id, MANAGE)
        result = services.items_delete(
            items=items,
            actor=request.user,
            delete_source_files=data["delete_source_files"],
            force=data["force"],
        )
        return Response({**s.ItemDeletionSerializer(result.deletion).data, "files_kept": result.files_kept})


class JobDeletions(APIView):
    @extend_schema(responses={200: s.ItemDeletionSerializer(many=True), **errors()})
    def get(self, request: Request, job_id: int) -> Response:
        job, _ = job_for(request.user, job_id)
        deletions = ItemDeletion.objects.filter(job=job).select_related("actor")
        return Response(s.ItemDeletionSerializer(deletions, many=True).data)
